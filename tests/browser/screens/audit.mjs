// The Audit log: DataStream's columns, a filter by action, cursor pages
// (Older entries, then Newer entries), and both exports of the filter,
// downloaded through the browser and read back.

import fs from 'node:fs';
import { BASE, assert, screen } from '../lib.mjs';

/** RFC 4180 rows (quoted fields, doubled quotes, CRLF). */
function csvRows(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

async function actions(page) {
  return page.locator('#audit td[data-label="Action"]').allTextContents();
}

/** Click an export link; the downloaded file's name and text. */
async function download(page, name) {
  const [dl] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name }).click(),
  ]);
  const file = await dl.path();
  return { filename: dl.suggestedFilename(), text: fs.readFileSync(file, 'utf8') };
}

export async function auditScreens(page) {
  await page.goto(`${BASE}/console/audit`);
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  for (const h of ['Email', 'User IP', 'User ID', 'Object Type', 'Object', 'Action', 'Action Description', 'Date']) {
    assert(await page.getByRole('columnheader', { name: h, exact: true }).count() === 1, `column ${h}`);
  }
  assert((await actions(page)).length > 0, 'entries');
  await screen(page, 'audit');
  // Filter by action, ten a page; the URL keeps the filter.
  await page.getByLabel('Action', { exact: true }).fill('created');
  await page.getByLabel('Items per page').selectOption('10');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/action=created/);
  const first = await page.locator('#audit td[data-label="Object"]').allTextContents();
  assert(first.length === 10, `ten entries: ${first.length}`);
  assert((await actions(page)).every((a) => a === 'created'), 'only created entries');
  await screen(page, 'audit-filtered');
  // Older entries, then back.
  await page.getByRole('link', { name: 'Older entries' }).click();
  await page.waitForURL(/cursor=/);
  assert(page.url().includes('action=created') && page.url().includes('page_size=10'), `the URL keeps the view: ${page.url()}`);
  const second = await page.locator('#audit td[data-label="Object"]').allTextContents();
  assert(second.length > 0 && second.every((o) => !first.includes(o)), 'the next page has other entries');
  assert((await actions(page)).every((a) => a === 'created'), 'still filtered');
  await page.getByRole('link', { name: 'Newer entries' }).click();
  await page.waitForURL(/cursor=/);
  const back = await page.locator('#audit td[data-label="Object"]').allTextContents();
  assert(JSON.stringify(back) === JSON.stringify(first), 'Newer entries is the first page again');
  await screen(page, 'audit-paged', { shot: false });
  // Both exports of the filter.
  const csv = await download(page, 'Export CSV');
  assert(/^audit-acme-\d{4}-\d{2}-\d{2}\.csv$/.test(csv.filename), `CSV file name: ${csv.filename}`);
  const rows = csvRows(csv.text);
  const header = rows[0];
  assert(header.join() === 'id,at,actor,actor_user_id,source_ip,request_id,object_type,object_id,object_name,action,description,job_id,details', `CSV header: ${header}`);
  const action = header.indexOf('action');
  assert(rows.length > 11 && rows.slice(1).every((r) => r[action] === 'created'), `CSV: ${rows.length - 1} created entries`);
  const jsonl = await download(page, 'Export JSONL');
  assert(/^audit-acme-\d{4}-\d{2}-\d{2}\.jsonl$/.test(jsonl.filename), `JSONL file name: ${jsonl.filename}`);
  const entries = jsonl.text.trim().split('\n').map((l) => JSON.parse(l));
  assert(entries.length === rows.length - 1, `as many entries as CSV rows: ${entries.length}`);
  assert(entries.every((e) => e.action === 'created'), 'JSONL honours the filter');
  page.documents.splice(0);
  // On a phone: each entry a card, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const path of ['/console/audit?page_size=10', '/console/groups']) {
    await page.goto(`${BASE}${path}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 390, `${path} fits a phone: ${wide}px`);
  }
  await screen(page, 'groups-phone', { shot: false });
  await page.setViewportSize({ width: 1280, height: 900 });
}
