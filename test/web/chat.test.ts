import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Page } from 'playwright-core';
import { launchChromium, type TestBrowser } from './browser';
import { postMessage } from '../../example/web/chat-router';
import { startWebExample, type WebExample } from '../../example/web/web-stack';
import { dynamodb } from '../../lambda';
import { LOCAL_AWS_SETTINGS, silentLogger } from '../../lambda/local';
import { createTestTable } from '../support/dynamodb';

/**
 * The web example (example/web) in headless Chromium: three pages as three users, alice and bob in
 * the lobby, carol in the garden, on the local gateway and DynamoDB Local.
 *
 * `WEB_TEST_BREAK_DELIVERY=1 npx jest test/web` answers every PostToConnection with a 500, so no
 * publish reaches a page: this test must then fail.
 */
const BREAK_DELIVERY = process.env.WEB_TEST_BREAK_DELIVERY === '1';
/** Every run's screenshot (jest's report folder, not committed). */
const SCREENSHOT = path.join(__dirname, '..', '..', 'test-reports', 'web-example.png');
/**
 * The README's copy, committed: written when missing or with `WEB_SCREENSHOT=1` (the clock in the
 * page changes every run, so rewriting it each time would leave the work tree dirty).
 */
const README_SCREENSHOT = path.join(__dirname, '..', '..', 'docs', 'images', 'web-example.png');
/** How long a DOM condition may take (a reconnect backs off up to a few seconds). */
const WAIT_MS = 15_000;

jest.setTimeout(120_000);

let web: WebExample;
let browser: TestBrowser;
/** While true, the gateway's authorizer refuses new connections (a page is "away"). */
let refuseConnections = false;
/** Uncaught exceptions in any page (React errors, unhandled rejections). */
const pageErrors: string[] = [];

beforeAll(async () => {
  const table = await createTestTable('web');
  web = await startWebExample({
    store: dynamodb({ tableName: table.tableName, dynamoDBClient: table.client }),
    gateway: {
      authorizer: () => {
        if (refuseConnections) throw Object.assign(new Error('away'), { statusCode: 503 });
        return {};
      },
      faults: BREAK_DELIVERY ? ({ method }) => (method === 'POST' ? { status: 500, errorType: 'InternalServerErrorException' } : undefined) : undefined,
      logger: silentLogger,
    },
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
});

/** Opens the page as `user` in `room` and waits until it is connected; returns it and its connection id. */
async function openChat(user: string, room: string): Promise<{ page: Page; connectionId: string }> {
  const before = new Set(web.gateway.connections());
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${user}: ${error.message}`));
  await page.goto(`${web.url}?user=${user}&room=${room}`);
  await waitForStatus(page, 'connected');
  // The subscriptions are started once the history is shown (the page fetches it on `started`).
  await page.waitForFunction(() => document.querySelector('[data-testid="messages"]') !== null, undefined, { timeout: WAIT_MS });
  const connectionId = web.gateway.connections().find((id) => !before.has(id));
  if (!connectionId) throw new Error(`no new gateway connection for ${user}`);
  return { page, connectionId };
}

/** Waits for a DOM condition; a timeout names what did not happen. */
async function waitFor(what: string, condition: Promise<unknown>): Promise<void> {
  try {
    await condition;
  } catch (error) {
    throw new Error(`Waited ${WAIT_MS} ms for ${what}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}

function userOf(page: Page): string {
  return new URL(page.url()).searchParams.get('user') ?? '?';
}

async function waitForStatus(page: Page, status: string): Promise<void> {
  await waitFor(`${userOf(page)}'s page to be ${status}`,
    page.locator(`[data-testid="status"][data-status="${status}"]`).waitFor({ timeout: WAIT_MS }));
}

function messageTexts(page: Page): Promise<string[]> {
  return page.locator('[data-testid="messages"] li .text').allTextContents();
}

async function waitForMessage(page: Page, text: string): Promise<void> {
  await waitFor(`"${text}" on ${userOf(page)}'s page`,
    page.locator('[data-testid="messages"] li .text', { hasText: text }).first().waitFor({ timeout: WAIT_MS }));
}

async function waitForTyping(page: Page, expected: string): Promise<void> {
  await waitFor(`the typing indicator of ${userOf(page)}'s page to read "${expected}"`, page.waitForFunction(
    (want) => document.querySelector('[data-testid="typing"]')?.textContent === want,
    expected,
    { timeout: WAIT_MS },
  ));
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('composer').press('Enter');
}

test('GIVEN alice and bob in the lobby and carol in the garden WHEN they chat and bob drops THEN each page shows exactly its room, live and after reconnecting', async () => {
  const alice = await openChat('alice', 'lobby');
  const bob = await openChat('bob', 'lobby');
  const carol = await openChat('carol', 'garden');

  // Typing: bob (same room) sees it, carol (other room) does not; it clears when alice clears.
  await alice.page.getByTestId('composer').fill('hel');
  await waitForTyping(bob.page, 'alice is typing…');
  await alice.page.getByTestId('composer').fill('');
  await waitForTyping(bob.page, '');

  // A message reaches bob (same room), not carol; alice shows it once (she is excluded from the
  // broadcast and adds the mutation's result).
  await send(alice.page, 'hello lobby');
  await waitForMessage(bob.page, 'hello lobby');
  // Carol's marker is published after alice's message was delivered: once carol shows it, alice's
  // message had its chance to (wrongly) reach her too.
  await postMessage({ room: 'garden', from: 'gardener', text: 'garden marker', publisher: web.publisher });
  await waitForMessage(carol.page, 'garden marker');
  await waitForMessage(alice.page, 'hello lobby');
  expect(await messageTexts(carol.page)).toEqual(['garden marker']);
  expect(await messageTexts(alice.page)).toEqual(['hello lobby']);
  expect(await carol.page.getByTestId('typing').textContent()).toBe('');

  // The gateway drops bob's socket while new connections are refused: bob is away.
  refuseConnections = true;
  const management = new ApiGatewayManagementApiClient({ endpoint: web.gateway.endpoint, ...LOCAL_AWS_SETTINGS });
  await management.send(new DeleteConnectionCommand({ ConnectionId: bob.connectionId }));
  await waitForStatus(bob.page, 'reconnecting');
  await send(alice.page, 'while bob was away');
  await waitForMessage(alice.page, 'while bob was away');
  expect(await messageTexts(bob.page)).not.toContain('while bob was away');

  // Bob comes back: the page resubscribes with its last event id and catches up, then keeps
  // receiving and sending.
  refuseConnections = false;
  await waitForStatus(bob.page, 'connected');
  await waitForMessage(bob.page, 'while bob was away');
  await send(alice.page, 'welcome back');
  await waitForMessage(bob.page, 'welcome back');
  await waitForMessage(alice.page, 'welcome back');
  await send(bob.page, 'thanks, I am back');
  await waitForMessage(alice.page, 'thanks, I am back');
  await waitForMessage(bob.page, 'thanks, I am back');
  expect(await messageTexts(bob.page)).toEqual(['hello lobby', 'while bob was away', 'welcome back', 'thanks, I am back']);
  expect(await messageTexts(alice.page)).toEqual(['hello lobby', 'while bob was away', 'welcome back', 'thanks, I am back']);
  expect(await messageTexts(carol.page)).toEqual(['garden marker']);

  expect(pageErrors).toEqual([]);

  // The README's screenshot: bob's page while alice types.
  await alice.page.getByTestId('composer').fill('see you');
  await waitForTyping(bob.page, 'alice is typing…');
  mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await bob.page.screenshot({ path: SCREENSHOT });
  if (process.env.WEB_SCREENSHOT === '1' || !existsSync(README_SCREENSHOT)) {
    mkdirSync(path.dirname(README_SCREENSHOT), { recursive: true });
    copyFileSync(SCREENSHOT, README_SCREENSHOT);
  }
});
