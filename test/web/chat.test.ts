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
/** Everything any page logged as a console error (a failed request, e.g. a 404 for /favicon.ico, is one). */
const consoleErrors: string[] = [];

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
  page.on('console', (message) => {
    // The browser's own line for a reconnect the first test refuses on purpose (503) is expected.
    if (message.type() !== 'error' || /^WebSocket connection to .* failed: .*Unexpected response code: 503$/.test(message.text())) return;
    consoleErrors.push(`${user}: ${message.text()} (${message.location().url})`);
  });
  await page.goto(`${web.url}?user=${user}&room=${room}`);
  await waitForStatus(page, 'connected');
  // The room's recent messages arrive as the subscription's initial state, before `started`.
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

/** Waits until the page's member list (room presence) shows exactly `expected`. */
async function waitForMembers(page: Page, expected: readonly string[]): Promise<void> {
  await waitFor(`the member list of ${userOf(page)}'s page to read ${expected.join(', ')}`, page.waitForFunction(
    (want) => Array.from(document.querySelectorAll('[data-testid="members"] li'), (item) => item.textContent).join() === want,
    expected.join(),
    { timeout: WAIT_MS },
  ));
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

  // Bob comes back: the page resubscribes with its last event id, and the route's initial state is
  // what he missed; then he keeps receiving and sending.
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
  expect(consoleErrors).toEqual([]);

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

/**
 * Scrolls the message list to its top and resolves once the page has seen the scroll event (the
 * app keeps "at the bottom" from it), so that a message posted next meets the reader scrolled up.
 */
function scrollToTop(page: Page): Promise<void> {
  return page.getByTestId('messages').evaluate((list) => new Promise<void>((resolve) => {
    if (list.scrollTop === 0) return resolve();
    list.addEventListener('scroll', () => resolve(), { once: true });
    list.scrollTo({ top: 0 });
  }));
}

test('GIVEN erin in the attic WHEN frank opens two pages there and closes them THEN erin\'s member list shows him once, until his last page left', async () => {
  const erin = await openChat('erin', 'attic');
  await waitForMembers(erin.page, ['erin']);
  const frank = await openChat('frank', 'attic');
  await waitForMembers(erin.page, ['erin', 'frank']);
  await waitForMembers(frank.page, ['erin', 'frank']);
  // A second page of frank's is the same member (the same connection key): no change anywhere.
  const frankAgain = await openChat('frank', 'attic');
  await waitForMembers(frankAgain.page, ['erin', 'frank']);

  await frank.page.close();
  // Past the grace period (3 s), frank is still in: his other page is.
  await new Promise((resolve) => setTimeout(resolve, 4000));
  await waitForMembers(erin.page, ['erin', 'frank']);
  await frankAgain.page.close();
  await waitForMembers(erin.page, ['erin']);
  expect(pageErrors).toEqual([]);
  expect(consoleErrors).toEqual([]);
  await erin.page.close();
});

/** How far the message list is from showing its newest message, in pixels. */
function distanceFromBottom(page: Page): Promise<number> {
  return page.getByTestId('messages').evaluate((list) => list.scrollHeight - list.scrollTop - list.clientHeight);
}

test('GIVEN a room with more messages than fit WHEN messages arrive THEN the list follows them at the bottom, and says "New messages" when the reader scrolled up', async () => {
  const { page } = await openChat('dave', 'kitchen');
  const post = (text: string) => postMessage({ room: 'kitchen', from: 'cook', text, publisher: web.publisher });

  for (let index = 1; index <= 25; index++) await post(`recipe ${index}`);
  await waitForMessage(page, 'recipe 25');
  expect(await page.getByTestId('messages').evaluate((list) => list.scrollHeight > list.clientHeight * 1.5)).toBe(true);
  await waitFor('the list to follow the newest message', page.waitForFunction(() => {
    const list = document.querySelector('[data-testid="messages"]')!;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 2;
  }, undefined, { timeout: WAIT_MS }));
  expect(await page.getByTestId('new-messages').count()).toBe(0);

  // Scrolled up to read: a new message leaves the view where it is and shows the hint.
  await scrollToTop(page);
  await post('while reading');
  await waitForMessage(page, 'while reading');
  await waitFor('the "New messages" hint', page.getByTestId('new-messages').waitFor({ timeout: WAIT_MS }));
  expect(await page.getByTestId('messages').evaluate((list) => list.scrollTop)).toBe(0);

  await page.getByTestId('new-messages').click();
  expect(await distanceFromBottom(page)).toBeLessThan(2);
  expect(await page.getByTestId('new-messages').count()).toBe(0);

  // Scrolled up again: what the reader sends brings the list down to it.
  await scrollToTop(page);
  await send(page, 'my own message');
  await waitForMessage(page, 'my own message');
  await waitFor('the list to show the sent message', page.waitForFunction(() => {
    const list = document.querySelector('[data-testid="messages"]')!;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 2;
  }, undefined, { timeout: WAIT_MS }));

  expect(pageErrors).toEqual([]);
  expect(consoleErrors).toEqual([]);
});

test('GIVEN a message over the limit WHEN it is typed or pasted THEN it is kept whole, the count shows the limit and sending waits until it fits', async () => {
  const { page } = await openChat('erin', 'garden');
  const composer = page.getByTestId('composer');

  await composer.fill('hello');
  expect(await page.getByTestId('count').textContent()).toBe('5 / 500');
  expect(await page.getByTestId('count').getAttribute('class')).toBe('count');

  await composer.fill('x'.repeat(10_000));
  expect((await composer.inputValue()).length).toBe(10_000);
  expect(await page.getByTestId('count').textContent()).toBe('10,000 / 500');
  expect(await page.getByTestId('count').getAttribute('class')).toBe('count over');
  expect(await page.getByTestId('too-long').textContent()).toBe('Too long by 9,500 characters: shorten it to 500 to send.');
  expect(await page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);

  await composer.fill('x'.repeat(500));
  expect(await page.getByTestId('too-long').count()).toBe(0);
  expect(await page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(false);

  expect(pageErrors).toEqual([]);
  expect(consoleErrors).toEqual([]);
});

test('GIVEN a room with earlier messages WHEN a page opens it THEN it shows them first (the route\'s initial state), each once, then live ones', async () => {
  const room = `attic-${Date.now()}`;
  for (const text of ['first', 'second', 'third']) await postMessage({ room, from: 'owner', text, publisher: web.publisher });
  const { page } = await openChat('gina', room);
  await waitForMessage(page, 'third');
  await postMessage({ room, from: 'owner', text: 'fourth', publisher: web.publisher });
  await waitForMessage(page, 'fourth');
  expect(await messageTexts(page)).toEqual(['first', 'second', 'third', 'fourth']);

  expect(pageErrors).toEqual([]);
  expect(consoleErrors).toEqual([]);
});

test('GIVEN an input the server refuses WHEN the page subscribes and sends THEN the errors read as sentences, not JSON', async () => {
  const room = 'r'.repeat(41);
  const { page } = await openChat('frank', room);

  await waitFor('the room error', page.getByTestId('room-error').waitFor({ timeout: WAIT_MS }));
  expect(await page.getByTestId('room-error').textContent()).toBe('The room name is too long: at most 40 characters.');
  await send(page, 'hi');
  await waitFor('the send error', page.getByTestId('send-error').waitFor({ timeout: WAIT_MS }));
  expect(await page.getByTestId('send-error').textContent()).toBe('The room name is too long: at most 40 characters.');

  expect(pageErrors).toEqual([]);
});
