// The Policy screen: roles with permissions and the mapping rules, then the
// editor: change the "Data Team" rule's plan, preview who changes (the
// Groups walk seeded the team's twelve members), apply, and watch the apply
// end.

import { BASE, assert, screen } from '../lib.mjs';

export async function policyScreens(page) {
  await page.goto(`${BASE}/console/policy`);
  await page.getByRole('heading', { name: 'Policy', exact: true }).waitFor();
  assert(await page.getByRole('cell', { name: 'users.read, groups.read' }).count() >= 1, 'member permissions shown');
  await screen(page, 'policy');
  const editor = page.getByLabel('Policy document (TOML)');
  const text = await editor.inputValue();
  assert(text.includes('plan = "team"'), `the editor holds the document: ${text.slice(0, 200)}`);
  await editor.fill(text.replace('plan = "team"', 'plan = "free"'));
  await page.getByRole('button', { name: 'Preview who changes' }).click();
  await page.getByRole('heading', { name: 'Who changes' }).waitFor();
  const said = await page.locator('#preview [role="status"]').textContent();
  assert(said.startsWith('12 user(s) would change'), `the preview: ${said}`);
  assert(await page.locator('#preview tbody tr').count() === 12, 'twelve rows');
  await screen(page, 'policy-preview');
  // A broken draft is refused on the page, the draft kept.
  await editor.fill('[[rules]]\nmatch = { role = "x" }\nset = { role = "wizard" }\n');
  await page.getByRole('button', { name: 'Preview who changes' }).click();
  await page.getByRole('alert').waitFor();
  assert((await page.getByRole('alert').textContent()).includes('wizard'), 'names the problem');
  assert((await editor.inputValue()).includes('wizard'), 'the draft is kept');
  // The 400 is the answer this step asks for, not a problem of the page.
  page.problems = page.problems.filter((p) => !p.includes('400 (Bad Request)'));
  page.documents.splice(0);
  // Apply the good draft, with the keyboard.
  await editor.fill(text.replace('plan = "team"', 'plan = "free"'));
  await page.getByRole('button', { name: 'Apply this policy' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/console\/policy$/);
  for (let i = 0; i < 40; i++) {
    const status = await page.locator('main > p[role="status"]').textContent().catch(() => '');
    if (status.includes('done')) break;
    await page.waitForTimeout(250);
    await page.reload();
  }
  const done = await page.locator('main > p[role="status"]').textContent();
  assert(done.startsWith('Version 1: done') && done.includes('12 changed'), `the apply: ${done}`);
  assert(await page.getByText('version 1, stored').isVisible(), 'stored');
  page.documents.splice(0);
}
