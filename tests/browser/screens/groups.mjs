// The Groups screens: a group of our own seeded over SCIM with a dozen
// members; the list, its search, the group's page with the mapping rules it
// feeds (the walk's config maps "Data Team" to a plan), its members paged,
// and a member's link to their page.

import { BASE, assert, scim, screen, waitForTable } from '../lib.mjs';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

async function seed() {
  const ids = [];
  for (let i = 1; i <= 12; i++) {
    const n = String(i).padStart(2, '0');
    const r = await scim('POST', '/scim/v2/Users', {
      schemas: [USER], userName: `data${n}@acme.test`, displayName: `Data Member ${n}`,
      emails: [{ value: `data${n}@acme.test`, primary: true }],
    });
    assert(r.status === 201, `seed data${n}: ${r.status}`);
    ids.push(r.body.id);
  }
  const g = await scim('POST', '/scim/v2/Groups', {
    schemas: [GROUP], displayName: 'Data Team', externalId: '00gDATA', members: ids.map((value) => ({ value })),
  });
  assert(g.status === 201, `seed Data Team: ${g.status}`);
}

export async function groupsScreens(page) {
  await seed();
  await page.goto(`${BASE}/console/groups`);
  await page.getByRole('heading', { name: 'Groups', exact: true }).waitFor();
  await screen(page, 'groups');
  // Search as you type (htmx); the URL keeps it.
  await page.getByLabel('Search groups').fill('Data Team');
  await page.waitForURL(/search=Data\+Team/);
  await waitForTable(page, () => [...document.querySelectorAll('#groups td[data-label="Name"]')]
    .every((c) => c.textContent.includes('Data Team')), 'only Data Team');
  await page.getByRole('link', { name: 'Data Team' }).click();
  await page.getByRole('heading', { name: 'Mapping rules' }).waitFor();
  assert(await page.getByText('Members of Data Team get plan team.').isVisible(), 'the plan rule in words');
  assert(await page.getByRole('status').textContent() === '12 members', 'the member total');
  // Members, ten a page.
  await page.getByLabel('Items per page').selectOption('10');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/page_size=10/);
  await page.getByText('Page 1 of 2').waitFor();
  assert(await page.locator('#members tbody tr').count() === 10, 'ten members on page 1');
  await screen(page, 'group-detail');
  await page.getByRole('link', { name: 'Next page' }).click();
  await page.getByText('Page 2 of 2').waitFor();
  assert(await page.locator('#members tbody tr').count() === 2, 'two on page 2');
  const email = await page.locator('#members td[data-label="Email"]').first().textContent();
  assert(/^data\d\d@acme\.test$/.test(email), `a member's email: ${email}`);
  await page.locator('#members td[data-label="Name"] a').first().click();
  await page.getByRole('heading', { name: 'General' }).waitFor();
  assert(page.url().includes('/console/users/'), `a member links to their page: ${page.url()}`);
  page.documents.splice(0);
}
