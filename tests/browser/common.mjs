// What every browser journey shares: its settings from the environment, the
// CONTROL protocol with the Rust test that runs it, checks, axe-core, the
// unlock screen, and launching Chromium with a report of what the screen
// showed when a journey fails.
//
// CONTROL protocol: the script prints `CONTROL <command>` on standard output
// and waits for a line `ok [words...]` on standard input (the words are
// returned: the addresses of apps the test started, for example).

import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import path from "node:path";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");

/** A required setting from the environment. */
export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

let answers = null;

/** Ask the Rust test to do something; returns the words after its `ok`. */
export async function control(command) {
  answers ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  console.log(`CONTROL ${command}`);
  const { value, done } = await answers.next();
  if (done || !/^ok(\s|$)/.test(value)) throw new Error(`${command}: no ok (${value})`);
  return value.slice(2).trim().split(/\s+/).filter(Boolean);
}

export function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

/** axe-core on the page as it is now; throws listing every violation. */
export async function accessible(page, name) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
    }));
  });
  if (result.length > 0) {
    throw new Error(`axe found ${result.length} violation(s) on ${name}:\n${JSON.stringify(result, null, 2)}`);
  }
}

/** Photograph the whole page into $BOTHY_SCREENSHOTS as `<name>.png`. */
export async function shot(page, name) {
  await page.screenshot({ path: path.join(env("BOTHY_SCREENSHOTS"), `${name}.png`), fullPage: true });
}

/** A screen: wait for its heading, check it with axe, photograph it. */
export async function screen(page, name, heading) {
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  await accessible(page, name);
  await shot(page, name);
  console.log(`screen ${name}: ok (axe: 0 violations)`);
}

export async function unlock(page, passcode = env("BOTHY_PASSCODE")) {
  await page.locator("#passcode").fill(passcode);
  await page.getByRole("button", { name: "Unlock" }).click();
  // With the right passcode, wait until the app is open: a navigation right
  // after the click (page.goto) would end the session and cut the unlock short.
  // The passcode field goes on every screen once unlocked (the start screen
  // moves on to the person's home; any other screen comes back in its place),
  // and stays while "Unlocking…" is shown.
  if (passcode === env("BOTHY_PASSCODE")) {
    await page.locator("#passcode").waitFor({ state: "detached" });
  }
}

/** Open the app at `base`'s sync screen, press "Sync now" and wait for it to finish. */
export async function syncNow(page, base) {
  await page.goto(`${base}/sync`);
  await pressSyncNow(page);
}

/**
 * On the sync screen, press "Sync now" and wait for this run's outcome to say
 * "Synced". An earlier run's outcome stays on the screen until the app has
 * heard the click, so the wait is for an outcome with a higher `data-run`
 * than the one showing before the press.
 */
export async function pressSyncNow(page) {
  await page.getByRole("heading", { level: 1, name: "Sync" }).waitFor();
  const shown = page.locator("#sync-outcome");
  const before = (await shown.count()) > 0 ? Number(await shown.getAttribute("data-run")) : 0;
  await page.getByRole("button", { name: "Sync now" }).click();
  await page.waitForFunction((run) => {
    const outcome = document.getElementById("sync-outcome");
    return outcome !== null && Number(outcome.dataset.run) > run && outcome.textContent.includes("Synced");
  }, before);
}

export async function syncIndicator(page, text, timeout = 60_000) {
  await page.locator("#sync-indicator", { hasText: text }).waitFor({ timeout });
}

/**
 * Launch Debian's Chromium headless, run the journeys in order, close it and
 * exit: 0 when every journey finished, 1 otherwise, after printing the error
 * and, for every open page, its address and text and a screenshot
 * `<failure>-<i>.png`.
 */
export async function runJourneys(failure, journeys) {
  const browser = await chromium.launch({
    executablePath: process.env.BOTHY_CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  let failed = false;
  try {
    for (const journey of journeys) {
      await journey(browser);
    }
  } catch (e) {
    failed = true;
    console.error(e);
    // What the screen showed when it failed, for whoever reads the log.
    for (const context of browser.contexts()) {
      for (const [i, page] of context.pages().entries()) {
        const file = path.join(env("BOTHY_SCREENSHOTS"), `${failure}-${i}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => {});
        const text = await page.locator("body").innerText().catch(() => "");
        console.error(`failure: ${page.url()} (screenshot ${file}):\n${text}`);
      }
    }
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}
