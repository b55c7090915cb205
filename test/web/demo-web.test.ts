import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { WebSocket } from 'ws';

const ROOT = path.join(__dirname, '..', '..');

/**
 * `npm run demo -- --web`, as the task runs it (`node --import tsx`, in a process group of its own
 * as in a terminal), with DynamoDB Local: a Ctrl+C used to reach Java before the connections'
 * `$disconnect` handlers ran, which then failed with ECONNREFUSED.
 */
jest.setTimeout(120_000);

test('GIVEN `demo --web` on DynamoDB Local WHEN it starts THEN it prints the page URL, serves the page, its script and no 404 icon, and a Ctrl+C closes its connections and prints only the goodbye', async () => {
  // A user's environment: not the tests' (which turns metric lines off).
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  delete env.TRPC_SUBSCRIPTIONS_METRICS;
  const child = spawn(process.execPath, ['--import', 'tsx', 'example/demo.ts', '--web'], { cwd: ROOT, detached: true, env });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const pageUrl = await new Promise<string>((resolve, reject) => {
      setTimeout(() => reject(new Error(`demo --web printed no URL in 100 s:\n${stdout}\n${stderr}`)), 100_000).unref();
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+\/\?user=alice&room=lobby)/.exec(stdout);
        if (match) resolve(match[1]);
      });
      void exited.then((code) => reject(new Error(`demo --web exited (${code}) before printing the URL:\n${stdout}\n${stderr}`)));
    });

    const page = await fetch(pageUrl);
    const html = await page.text();
    const script = await fetch(new URL('/app.js', pageUrl));
    const icon = await fetch(new URL('/favicon.ico', pageUrl));

    expect(page.status).toBe(200);
    expect(html).toMatch(/<meta name="chat-ws-url" content="ws:\/\/127\.0\.0\.1:\d+">/);
    expect(html).toMatch(/<link rel="icon" href="data:image\/svg\+xml,/);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(icon.status).toBe(204);
    expect(stdout).toContain('?user=bob&room=lobby');
    // The realtime console of the same stack.
    const consoleUrl = /console\s+(http:\/\/127\.0\.0\.1:\d+\/_console)/.exec(stdout)?.[1];
    expect(consoleUrl).toBeDefined();
    expect((await fetch(consoleUrl!)).status).toBe(200);

    // Two open connections, then Ctrl+C: the terminal signals the group, npm forwards it again.
    const gatewayUrl = /gateway\s+(ws:\/\/\S+)/.exec(stdout)![1];
    const sockets = await Promise.all([0, 1].map(() => new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(gatewayUrl);
      socket.once('open', () => resolve(socket));
      socket.once('error', reject);
    })));
    const closed = sockets.map((socket) => new Promise<number>((resolve) => socket.once('close', resolve)));
    const printed = stdout.length;
    process.kill(-child.pid!, 'SIGINT');
    setTimeout(() => child.kill('SIGINT'), 50);

    expect(await exited).toBe(0);
    expect(await Promise.all(closed)).toEqual([1001, 1001]);
    expect(stdout.slice(printed)).toBe('\nStopped: 2 connections closed.\n');
    // No metric lines, no errors, no warnings.
    expect(stdout).not.toContain('"_aws"');
    expect(stderr).toBe('');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
