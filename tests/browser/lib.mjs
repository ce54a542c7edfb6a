// The harness of the console walk: one browser per person (Debian's
// chromium through playwright-core, a fresh profile each), the SCIM client
// the walk seeds and checks with, and `screen()`, the checks every screen
// gets (security headers, no inline code, no CSP violation, axe-core with
// 0 serious or critical violations, a screenshot).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
export const BASE = env('BASE');
export const SHOTS = env('SHOTS');
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
export const ACCESS = 'urn:rollcall:scim:schemas:extension:access:2.0:User';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const axeSummary = {};
export const contexts = [];

export function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

export async function scim(method, p, body) {
  const r = await fetch(`${BASE}${p}`, {
    method,
    headers: { Authorization: `Bearer ${env('SCIM_TOKEN')}`, 'Content-Type': 'application/scim+json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

export async function userId(userName) {
  const r = await scim('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
  assert(r.body.Resources.length === 1, `one ${userName}`);
  return r.body.Resources[0].id;
}

/** A browser of its own (a fresh profile) for one person. */
export async function browser(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rollcall-console-${name}-`));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium', headless: true, args: FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  contexts.push({ ctx, dir });
  const page = ctx.pages()[0] ?? await ctx.newPage();
  page.problems = [];
  page.documents = [];
  // Violations the page itself reports: blocked inline code, failed loads.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  // Every page and htmx answer of the console, read as it arrives (a
  // body is gone once the browser navigates on).
  page.on('response', (r) => {
    const type = r.request().resourceType();
    if (!['document', 'xhr', 'fetch'].includes(type) || !r.url().startsWith(`${BASE}/`)) return;
    page.documents.push((async () => ({
      url: r.url(), status: r.status(), type, headers: await r.allHeaders(),
      html: r.status() >= 300 && r.status() < 400 ? null : await r.text().catch(() => null),
    }))());
  });
  return page;
}

/** The checks every screen gets: headers, no inline code, no CSP
 *  violation, axe (0 serious or critical), a screenshot. */
export async function screen(page, name, { shot = true } = {}) {
  await page.waitForLoadState('load');
  const docs = await Promise.all(page.documents.splice(0));
  assert(docs.length > 0, `${name}: a page was loaded`);
  const last = docs.filter((d) => d.type === 'document').pop();
  assert(last && last.html !== null, `${name}: the page's HTML was read`);
  for (const d of docs) {
    const h = d.headers;
    assert(h['content-security-policy'] === CSP, `${name}: CSP on ${d.url}: ${h['content-security-policy']}`);
    assert(h['x-content-type-options'] === 'nosniff', `${name}: nosniff on ${d.url}`);
    assert(h['referrer-policy'] === 'same-origin', `${name}: Referrer-Policy on ${d.url}`);
    const html = d.html;
    if (html === null) continue;
    for (const tag of html.match(/<script\b[^>]*>/gi) ?? []) assert(/\ssrc=/.test(tag), `${name}: inline script ${tag}`);
    assert(!/<style\b/i.test(html), `${name}: a style element`);
    assert(!/<[^>]+\sstyle=/i.test(html), `${name}: a style attribute`);
    assert(!/<[^>]+\son[a-z]+=/i.test(html), `${name}: an inline event handler`);
  }
  const inline = await page.evaluate(() => ({
    scripts: document.querySelectorAll('script:not([src])').length,
    styles: document.querySelectorAll('style, [style]').length,
    csp: window.__csp ?? [],
  }));
  assert(inline.scripts === 0, `${name}: ${inline.scripts} inline scripts in the DOM`);
  assert(inline.styles === 0, `${name}: ${inline.styles} inline styles in the DOM`);
  assert(inline.csp.length === 0, `${name}: CSP violations ${inline.csp.join(', ')}`);
  assert(page.problems.length === 0, `${name}: ${page.problems.join('; ')}`);
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  axeSummary[name] = { violations: result.violations.length, seriousOrCritical: bad.length,
    minor: result.violations.map((v) => `${v.id} (${v.impact})`) };
  assert(bad.length === 0, `${name}: axe: ${bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('; ')}`);
  // caret 'initial': hiding the caret would inject a style the CSP refuses.
  if (shot) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true, caret: 'initial' });
}

export async function signIn(page, link, name) {
  await page.goto(link);
  await screen(page, `${name}-link`, { shot: name === 'admin' });
  await page.getByRole('button', { name: /^Sign in as / }).click();
  await page.waitForURL(/\/console\/users$/);
}

export async function waitForTable(page, pred, what) {
  await page.waitForFunction(pred, null, { timeout: 10000 }).catch(() => {
    throw new Error(`the table did not show ${what}`);
  });
}
