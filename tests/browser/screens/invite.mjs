// Invite user: the form, the link shown once (and nowhere after), and
// Disable / Enable registrations from the Users page header.

import { BASE, assert, screen } from '../lib.mjs';

export async function inviteOnce(page) {
  await page.goto(`${BASE}/console/users`);
  page.documents.splice(0);
  await page.getByRole('link', { name: 'Invite user', exact: true }).click();
  await page.waitForURL(/\/console\/invite$/);
  await screen(page, 'invite');
  await page.getByLabel('User name').fill('walk-invite@acme.test');
  await page.getByLabel('Email').fill('walk-invite@acme.test');
  await page.getByLabel('Display name').fill('Walk Invite');
  await page.getByLabel('Role').selectOption('member');
  await page.getByLabel('Plan').selectOption('team');
  await page.getByRole('button', { name: 'Invite user' }).click();
  await page.getByRole('heading', { name: 'User invited' }).waitFor();
  const link = await page.getByLabel('Invitation link').inputValue();
  assert(/inv_[0-9a-f]{48}$/.test(link), `an invitation link: ${link}`);
  assert(await page.getByLabel('Invitation link').getAttribute('readonly') !== null, 'read-only');
  await screen(page, 'invite-done');
  const secret = link.slice(link.indexOf('inv_'));
  // Never again: not on the user's page, the list, or the form.
  await page.getByRole('link', { name: 'Manage user', exact: true }).click();
  await page.getByRole('heading', { name: 'Invitation' }).waitFor();
  for (const at of [page.url(), `${BASE}/console/users?search=walk-invite`, `${BASE}/console/invite`]) {
    await page.goto(at);
    assert(!(await page.content()).includes(secret), `the link again on ${at}`);
  }
  page.documents.splice(0);
}

export async function registrationsOffAndOn(page) {
  await page.goto(`${BASE}/console/users`);
  await page.getByRole('button', { name: 'Disable registrations' }).click();
  await page.getByRole('button', { name: 'Enable registrations' }).waitFor();
  assert(await page.getByText('Invite user (registrations are closed)').isVisible(), 'Invite user says it is closed');
  await page.goto(`${BASE}/console/invite`);
  await page.getByText('Registrations are closed: nobody new may be invited.').waitFor();
  assert(await page.getByLabel('User name').count() === 0, 'no invite form while closed');
  await page.getByRole('button', { name: 'Enable registrations' }).click();
  await page.getByRole('button', { name: 'Disable registrations' }).waitFor();
  assert(page.url().endsWith('/console/invite'), `back on Invite user: ${page.url()}`);
  assert(await page.getByLabel('User name').count() === 1, 'the invite form again');
  page.documents.splice(0);
}
