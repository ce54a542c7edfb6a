// Signing in through the tenant's identity provider (the npm oidc-provider
// of tests/oidc, started by browser.rs): in a browser of its own, the
// sign-in page's "Sign in with …" link, the provider's login page (its own
// page: no checks run on it), and back in the console as Bob, bound to his
// directory user by his verified email on this first sign-in.

import { BASE, assert, browser, env, screen } from '../lib.mjs';

export async function signInWithProvider() {
  const issuer = env('OIDC_ISSUER');
  const claims = { email: 'bob@acme.test', email_verified: true, name: 'Bob Stone' };
  const r = await fetch(`${issuer}/test/account?account=bob-idp&claims=${encodeURIComponent(JSON.stringify(claims))}`);
  assert(r.ok, `the provider's account for Bob: ${r.status}`);
  const page = await browser('oidc');
  await page.goto(`${BASE}/console/sign-in`);
  const start = page.getByRole('link', { name: 'Sign in with Test IdP' });
  await start.waitFor();
  assert(await page.locator('form[action*="/oidc/"]').count() === 0, 'a plain link, not a form');
  await screen(page, 'sign-in-oidc');
  await start.click();
  // The provider's login page.
  await page.getByLabel('Login').fill('bob-idp');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${BASE}/console/users`);
  // Only our pages are checked: forget what the provider's pages did.
  page.problems.splice(0);
  await page.reload();
  await page.getByText('Signed in as bob@acme.test').waitFor();
  await screen(page, 'oidc-users', { shot: false });
}
