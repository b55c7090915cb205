import * as path from 'node:path';
import { build } from 'esbuild';

/**
 * The web example's Lambda entry bundled as the construct bundles it (minified CommonJS for Node,
 * AWS SDK v3 external). The budget is a ratio to the main example's handlers, bundled in the same
 * run (bench/ measures that one against its absolute budget): the chat adds a router, zod/mini
 * schemas and an in-memory history, never a heavy dependency.
 */
const ROOT = path.join(__dirname, '..', '..');

async function bundledBytes(entry: string): Promise<{ bytes: number; inputs: string[] }> {
  const result = await build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    write: false,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    metafile: true,
    logLevel: 'silent',
  });
  return { bytes: result.outputFiles[0].contents.byteLength, inputs: Object.keys(result.metafile.inputs) };
}

test('GIVEN the web example handlers WHEN bundled THEN they stay within 110% of the main example handlers and hold no browser code', async () => {
  const main = await bundledBytes('example/handlers.ts');
  const web = await bundledBytes('example/web/handlers.ts');

  expect(web.bytes).toBeLessThan(main.bytes * 1.1);
  // Neither the page nor its libraries end up on the Lambda side.
  expect(web.inputs.filter((input) => /example\/web\/page\/|node_modules\/(react|react-dom|@tanstack)\/|zod\/v4\/classic/.test(input))).toEqual([]);
});
