import { spawn } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** `npm run demo -- --web --store memory`, as a user runs it (tsx, a separate process). */
test('GIVEN `demo --web` WHEN it starts THEN it prints the page URL, serves the page and its script, and stops on SIGINT', async () => {
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['example/demo.ts', '--web', '--store', 'memory'], { cwd: ROOT });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const pageUrl = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+\/\?user=alice&room=lobby)/.exec(output);
        if (match) resolve(match[1]);
      });
      void exited.then((code) => reject(new Error(`demo --web exited (${code}) before printing the URL:\n${output}`)));
    });

    const page = await fetch(pageUrl);
    const html = await page.text();
    const script = await fetch(new URL('/app.js', pageUrl));

    expect(page.status).toBe(200);
    expect(html).toMatch(/<meta name="chat-ws-url" content="ws:\/\/127\.0\.0\.1:\d+">/);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(output).toContain('?user=bob&room=lobby');
    // The realtime console of the same stack.
    const consoleUrl = /console\s+(http:\/\/127\.0\.0\.1:\d+\/_console)/.exec(output)?.[1];
    expect(consoleUrl).toBeDefined();
    expect((await fetch(consoleUrl!)).status).toBe(200);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
});
