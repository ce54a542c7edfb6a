// The Deprovisioning screen: five leavers of its own seeded over SCIM, a
// CSV file of them uploaded, the dry run's table (nothing changed), the
// run with its progress, the report downloaded, and the leavers checked
// over SCIM. Runs after the Users walk and before the member, disabled
// user and sign-out steps; it touches no other user.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE, assert, scim, screen, userId } from '../lib.mjs';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const LEAVERS = [1, 2, 3, 4, 5].map((n) => `leaver${n}@acme.test`);

async function seedLeavers() {
  for (const [i, email] of LEAVERS.entries()) {
    const r = await scim('POST', '/scim/v2/Users', {
      schemas: [USER], userName: email, displayName: `Leaver ${i + 1}`,
      emails: [{ value: email, primary: true }],
    });
    assert(r.status === 201, `seed ${email}: ${r.status}`);
  }
}

async function leaversActive() {
  const out = [];
  for (const email of LEAVERS) {
    const r = await scim('GET', `/scim/v2/Users/${await userId(email)}`);
    out.push(r.body.active);
  }
  return out;
}

/** The Action column of the rows table. */
async function actions(page) {
  return page.locator('#rows tbody td[data-label="Action"]').allTextContents();
}

export async function deprovision(page) {
  await seedLeavers();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollcall-leavers-'));
  const file = path.join(dir, 'leavers.csv');
  const lines = LEAVERS.map((e, i) => `${e},Leaver ${i + 1},2026-11-30`);
  fs.writeFileSync(file, `email,name,last day\n${lines.join('\n')}\nnobody@acme.test,Nobody,2026-11-30\n`);
  try {
    await page.goto(`${BASE}/console/users`);
    await page.getByRole('link', { name: 'Deprovisioning' }).click();
    await page.waitForURL(/\/console\/deprovisioning$/);
    await screen(page, 'deprovision');

    // Upload, choose the match and the mode, preview: the dry run.
    await page.getByLabel(/^CSV file of leavers/).setInputFiles(file);
    await page.getByLabel('Match').selectOption('email');
    await page.getByLabel('Mode').selectOption('deactivate');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/console\/deprovisioning\/[0-9a-f-]+$/);
    const dryUrl = page.url();
    await page.getByRole('button', { name: 'Run', exact: true }).waitFor({ timeout: 15000 });
    await page.getByRole('heading', { name: 'Dry run' }).waitFor();
    const planned = await actions(page);
    assert(planned.filter((a) => a === 'would deactivate').length === 5, `five would be deactivated: ${planned}`);
    assert(planned[5] === 'none', `the sixth row matches no one: ${planned}`);
    assert(await page.getByText('no user has this email').isVisible(), 'the reason for the unmatched row');
    assert((await leaversActive()).every((a) => a !== false), `the dry run changed nothing: ${await leaversActive()}`);
    await screen(page, 'deprovision-preview');

    // Run it: the job's page follows the progress until it is done.
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForURL((u) => /\/console\/deprovisioning\/[0-9a-f-]+$/.test(u.pathname) && u.href !== dryUrl);
    await page.getByRole('heading', { name: 'Deprovisioning job' }).waitFor();
    await page.locator('#job-state', { hasText: 'done' }).waitFor({ timeout: 15000 });
    await page.getByText('6 of 6 rows done').waitFor();
    const done = await actions(page);
    assert(done.filter((a) => a === 'deactivated').length === 5, `five deactivated: ${done}`);
    assert(await page.locator('[hx-trigger]').count() === 0, 'a finished job is not polled');
    await screen(page, 'deprovision-job');
    // At phone width the rows become cards and nothing overflows.
    await page.setViewportSize({ width: 390, height: 844 });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    await page.setViewportSize({ width: 1280, height: 900 });
    assert(wide <= 390, `the job page is ${wide}px wide at 390px`);

    // The report, downloaded.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download report' }).click(),
    ]);
    assert(/^deprovision-[0-9a-f-]+\.csv$/.test(download.suggestedFilename()), `file name ${download.suggestedFilename()}`);
    const report = fs.readFileSync(await download.path(), 'utf8').trim().split('\n');
    assert(report[0] === 'row,input,match,user_id,user_name,action,status_before,status_after,hook,error', `header: ${report[0]}`);
    assert(report.length === 7, `six rows: ${report.length - 1}`);
    assert(report.slice(1, 6).every((l, i) => l.startsWith(`${i + 1},${LEAVERS[i]},matched,`) && l.includes(',deactivated,')), `the rows: ${report}`);
    assert(report[6].startsWith('6,nobody@acme.test,none,'), `the unmatched row: ${report[6]}`);

    assert((await leaversActive()).every((a) => a === false), 'the leavers are deactivated over SCIM');
    const list = await page.goto(`${BASE}/console/deprovisioning`);
    assert(list.status() === 200, 'the main screen');
    assert(await page.locator('#jobs tbody tr').count() === 2, 'the dry run and the run are listed');
    page.documents.splice(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
