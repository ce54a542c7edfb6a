// The Users screens: search, filter, sort and page; ban with a reason;
// the detail page, delete with a successor (the assets transferred, the
// default; or removed with the account) and restore; Seats and a
// phone-width screen; the keyboard; a member's and a disabled user's view;
// signing out.

import path from 'node:path';
import { ACCESS, BASE, SHOTS, assert, browser, env, scim, screen, signIn, userId, waitForTable } from '../lib.mjs';

/** The userNames in the Users table, in order. */
async function emails(page) {
  return page.locator('#users tbody td[data-label="Email"]').allTextContents();
}

export async function searchFilterSortPage(page) {
  await screen(page, 'users');
  // Search as you type (htmx), the URL keeps it.
  await page.getByLabel('Search users').fill('ann');
  await waitForTable(page, () => document.querySelectorAll('#users tbody tr').length === 1, 'one row for "ann"');
  assert((await emails(page))[0] === 'ann@acme.test', 'the search found ann');
  await page.waitForURL(/search=ann/);
  await page.reload();
  assert((await emails(page)).join() === 'ann@acme.test', 'the URL keeps the search');
  page.documents.splice(0);
  await page.goto(`${BASE}/console/users`);
  // Filter: type Viewer.
  await page.getByLabel('Type').selectOption('viewer');
  await page.waitForURL(/type=viewer/);
  await waitForTable(page, () => [...document.querySelectorAll('#users td[data-label="Type"]')].every((t) => t.textContent === 'Viewer'), 'only viewers');
  assert((await emails(page)).length === 3, `three viewers, not ${(await emails(page)).length}`);
  await page.goto(`${BASE}/console/users`);
  // Sort by clicking a column header: Email ascending, then descending.
  await page.getByRole('link', { name: 'Email', exact: true }).click();
  await page.waitForURL(/sort=email&order=asc/);
  const asc = await emails(page);
  assert(JSON.stringify(asc) === JSON.stringify([...asc].sort()), `ascending: ${asc}`);
  await page.getByRole('link', { name: 'Email', exact: true }).click();
  await page.waitForURL(/order=desc/);
  const desc = await emails(page);
  assert(desc[0] > desc[desc.length - 1], `descending: ${desc}`);
  assert(await page.locator('th[aria-sort="descending"]').textContent() === 'Email', 'aria-sort');
  // Items per page and page navigation, with the total.
  await page.getByLabel('Items per page').selectOption('10');
  await page.waitForURL(/page_size=10/);
  await page.getByText('Page 1 of 3').waitFor();
  assert(await page.getByText('25 users').isVisible(), 'the total');
  await page.getByRole('link', { name: 'Next page' }).click();
  await page.waitForURL(/page=2/);
  await page.getByText('Page 2 of 3').waitFor();
  assert((await emails(page)).length === 10, 'ten on page 2');
  assert(page.url().includes('page_size=10') && page.url().includes('sort=email'), `the URL keeps the view: ${page.url()}`);
  await screen(page, 'users-paged', { shot: false });
}

/** A name in the list opens the user's summary in a drawer beside it. */
export async function drawer(page) {
  await page.goto(`${BASE}/console/users?search=bob`);
  const drawer = page.locator('aside.drawer');
  assert(!(await drawer.isVisible()), 'the drawer is hidden while empty');
  await page.getByRole('link', { name: 'Bob Stone' }).click();
  await drawer.getByRole('heading', { name: 'General', exact: true }).waitFor();
  assert(page.url().endsWith('/console/users?search=bob'), `the list stays: ${page.url()}`);
  for (const h of ['Access', 'Actions']) await drawer.getByRole('heading', { name: h, exact: true }).waitFor();
  assert(await page.evaluate(() => document.activeElement?.textContent) === 'Bob Stone', 'the drawer takes the focus');
  assert(await drawer.getByRole('link', { name: "Open the user's page" }).isVisible(), 'a way to the full page');
  assert(await page.locator('#users tbody tr').count() === 1, 'the list is still there');
  await screen(page, 'users-drawer');
  await drawer.getByRole('button', { name: 'Close' }).click();
  await drawer.waitFor({ state: 'hidden' });
}

export async function banWithReason(page, annId) {
  await page.goto(`${BASE}/console/users?search=ann`);
  await page.locator('summary', { hasText: 'Actions' }).first().click();
  await page.getByLabel('Reason').fill('Left the company');
  await page.screenshot({ path: path.join(SHOTS, 'users-actions.png'), caret: 'initial' });
  await page.getByRole('button', { name: 'Ban user' }).click();
  await page.waitForURL(/search=ann/);
  await page.locator('#users td[data-label="Status"]', { hasText: 'Banned' }).waitFor();
  await screen(page, 'users-banned', { shot: false });
  const r = await scim('GET', `/scim/v2/Users/${annId}?attributes=${encodeURIComponent(ACCESS)}`);
  assert(r.body[ACCESS].status === 'banned', `SCIM says ${JSON.stringify(r.body[ACCESS])}`);
  // The status filter finds her.
  await page.goto(`${BASE}/console/users?status=banned`);
  assert((await emails(page)).join() === 'ann@acme.test', 'Status: Banned');
}

export async function detailDeleteRestore(page, annId) {
  await page.goto(`${BASE}/console/users?search=ann`);
  await page.getByRole('link', { name: 'Ann Lee' }).click();
  await page.getByRole('link', { name: "Open the user's page" }).click();
  await page.waitForURL(new RegExp(`/console/users/${annId}$`));
  for (const h of ['General', 'Access', 'Actions', 'Activity']) await page.getByRole('heading', { name: h, exact: true }).waitFor();
  assert(await page.getByText('Banned since').isVisible(), 'the ban is shown');
  assert(await page.getByText('Left the company').first().isVisible(), 'with its reason');
  assert(await page.getByText('managed by your identity provider').first().isVisible(), 'IdP-managed fields are read-only');
  await screen(page, 'user-detail');
  await page.getByRole('link', { name: 'Delete user' }).click();
  await page.getByLabel('Find a successor').fill('bob');
  await page.getByRole('button', { name: 'Find' }).click();
  await page.waitForURL(/successor_search=bob/);
  await screen(page, 'delete');
  assert(await page.getByLabel("Transfer ownership of the user's assets to another user").isChecked(), 'transferring the assets is the default');
  assert(!(await page.getByLabel("Remove the assets with the user's account (no successor)").isChecked()), 'removing them is the other choice');
  await page.getByLabel('Successor', { exact: true }).selectOption({ label: 'Bob Stone (bob@acme.test)' });
  await page.getByLabel('Type ann@acme.test to confirm').fill('ann@acme.test');
  await page.getByRole('button', { name: 'Delete user' }).click();
  await page.waitForURL(new RegExp(`/console/users/${annId}$`));
  await page.getByText('What they owned went to bob@acme.test').waitFor();
  assert((await scim('GET', `/scim/v2/Users/${annId}`)).status === 404, 'gone from SCIM');
  await screen(page, 'user-deleted');
  await page.getByRole('button', { name: 'Restore user' }).click();
  await page.waitForURL(new RegExp(`/console/users/${annId}$`));
  await page.getByRole('heading', { name: 'Status', exact: true }).waitFor();
  assert((await scim('GET', `/scim/v2/Users/${annId}`)).status === 200, 'back in SCIM');
}

/** The owner's row (root owns the tenant): marked Owner, its menu without
 *  Disable, Ban or Delete; another user's page offers the owner Make owner;
 *  the status filter offers Enabled and Passive. */
export async function ownerRow(page) {
  await page.goto(`${BASE}/console/users?search=root`);
  const row = page.locator('#users tbody tr').first();
  assert(await row.locator('.badge', { hasText: 'Owner' }).isVisible(), 'the owner is marked');
  await row.locator('summary', { hasText: 'Actions' }).click();
  const items = await row.locator('details.menu li').allTextContents();
  for (const absent of ['Disable user', 'Ban user', 'Delete user']) {
    assert(!items.some((t) => t.includes(absent)), `no ${absent} on the owner's row: ${items}`);
  }
  await screen(page, 'users-owner', { shot: false });
  await page.goto(`${BASE}/console/users?search=bob`);
  await page.getByRole('link', { name: 'Bob Stone' }).click();
  await page.getByRole('link', { name: "Open the user's page" }).click();
  await page.getByRole('heading', { name: 'Ownership', exact: true }).waitFor();
  assert(await page.getByRole('button', { name: 'Make owner' }).isVisible(), 'Make owner is offered to the owner');
  await screen(page, 'user-make-owner', { shot: false });
  await page.goto(`${BASE}/console/users`);
  await page.getByLabel('Status').selectOption('passive');
  await page.waitForURL(/status=passive/);
  await screen(page, 'users-passive', { shot: false });
}

export async function seatsAndPhone(page) {
  await page.getByRole('link', { name: 'Seats' }).click();
  await page.waitForURL(/\/console\/seats$/);
  const users = page.locator('tr', { hasText: 'Users' });
  assert((await users.locator('td').first().textContent()) === '22', `user seats: ${await users.textContent()}`);
  await screen(page, 'seats');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${BASE}/console/users?page_size=10`);
  await screen(page, 'users-phone');
  await page.setViewportSize({ width: 1280, height: 900 });
}

export async function keyboard(page) {
  await page.goto(`${BASE}/console/users?search=bob`);
  // Tab to the row's actions menu and open it with the keyboard alone.
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement?.tagName === 'SUMMARY')) break;
  }
  assert(await page.evaluate(() => document.activeElement?.tagName === 'SUMMARY'), 'the menu is reachable by Tab');
  await page.keyboard.press('Enter');
  assert(await page.locator('details.menu[open]').count() === 1, 'Enter opens the menu');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  assert(focused === 'Manage user', `the first item takes the focus: ${focused}`);
}

export async function member(link) {
  const page = await browser('member');
  await signIn(page, link, 'member');
  await page.locator('#users tbody tr').first().waitFor();
  assert(await page.locator('th', { hasText: 'Actions' }).count() === 0, 'a member has no Actions column');
  assert(await page.locator('summary').count() === 0, 'and no actions menu');
  await screen(page, 'member-users');
  await page.getByRole('link', { name: 'Bob Stone' }).click();
  const drawer = page.locator('aside.drawer');
  await drawer.getByRole('heading', { name: 'General' }).waitFor();
  assert(await drawer.getByRole('heading', { name: 'Actions' }).count() === 0, 'no actions in the drawer');
  await drawer.getByRole('link', { name: "Open the user's page" }).click();
  await page.waitForURL(/\/console\/users\/[^/?]+$/);
  await page.getByRole('heading', { name: 'General' }).waitFor();
  assert(await page.getByRole('heading', { name: 'Actions' }).count() === 0, 'no actions on the detail page');
  assert(await page.locator('form[action$="/ban"]').count() === 0, 'no ban form');
  await screen(page, 'member-detail', { shot: false });
}

export async function disabledSessionEnds(link) {
  const page = await browser('dan');
  await signIn(page, link, 'dan');
  await page.locator('#users tbody tr').first().waitFor();
  const danId = await userId('dan@acme.test');
  const r = await scim('PATCH', `/scim/v2/Users/${danId}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'active', value: false }],
  });
  assert(r.status === 200, `disable over SCIM: ${r.status}`);
  await page.reload();
  await page.waitForURL(/\/console\/sign-in$/);
  await page.getByRole('heading', { name: 'Sign in to the Rollcall console' }).waitFor();
  await screen(page, 'sign-in');
}

export async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/console\/sign-in$/);
  await page.goto(`${BASE}/console/users`);
  await page.waitForURL(/\/console\/sign-in$/);
  await screen(page, 'signed-out', { shot: false });
}
