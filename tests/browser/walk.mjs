// A walk through the Rollcall admin console in Debian's chromium
// (playwright-core, no downloaded browser), with axe-core on every screen.
// Driven by tests/api/console/browser.rs, which boots the real binary,
// seeds users over SCIM and mints the sign-in links with the CLI.
//
// Environment: BASE (http://127.0.0.1:PORT), SCIM_TOKEN, LINK_ADMIN,
// LINK_MEMBER, LINK_DAN (one-time links), OIDC_ISSUER (the test identity
// provider), SHOTS (a folder for the screenshots). Exits non-zero with what failed.

import fs from 'node:fs';
import { SHOTS, axeSummary, browser, contexts, env, signIn, userId } from './lib.mjs';
import * as oidc from './screens/oidc.mjs';
import * as users from './screens/users.mjs';
import { groupsScreens } from './screens/groups.mjs';
import { auditScreens } from './screens/audit.mjs';
import { policyScreens } from './screens/policy.mjs';
import { requestsScreens } from './screens/requests.mjs';
import * as invite from './screens/invite.mjs';
import * as connections from './screens/connections.mjs';
import * as deprovision from './screens/deprovision.mjs';

/** The screens after the Users ones, in this order; each is
 *  `async (page) => …` on the admin's page and seeds what it needs itself. */
const SCREENS = [
  invite.inviteOnce,
  invite.registrationsOffAndOn,
  connections.tokenOnce,
  oidc.signInWithProvider,
  deprovision.deprovision,
  groupsScreens,
  policyScreens,
  auditScreens,
  requestsScreens,
];

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const annId = await userId('ann@acme.test');
  const page = await browser('admin');
  await signIn(page, env('LINK_ADMIN'), 'admin');
  await users.searchFilterSortPage(page);
  await users.drawer(page);
  await users.banWithReason(page, annId);
  await users.detailDeleteRestore(page, annId);
  await users.ownerRow(page);
  await users.seatsAndPhone(page);
  await users.keyboard(page);
  for (const walk of SCREENS) await walk(page);
  await users.member(env('LINK_MEMBER'));
  await users.disabledSessionEnds(env('LINK_DAN'));
  await users.signOut(page);
  console.log(JSON.stringify({ axe: axeSummary }));
}

try {
  await main();
} catch (e) {
  console.error(e.stack || String(e));
  process.exitCode = 1;
} finally {
  for (const { ctx, dir } of contexts) {
    await ctx.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
