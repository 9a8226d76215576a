/**
 * Headless Chromium for the report tests, driven by puppeteer-core (which never downloads a
 * browser: it uses the system's, installed by scripts/setup.sh). `CHROMIUM` is null where
 * there is none, and the tests that need it are skipped.
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p)) ?? null;

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM!, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Opens a file in a new page; fails if the page asks the network for anything (a report must
 * work offline) or logs an error.
 */
export async function openFile(browser: Browser, file: string, viewport = { width: 1250, height: 1800 }): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const requests: string[] = [], errors: string[] = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return { page, requests, errors };
}
