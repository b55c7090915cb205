/**
 * Writes API.md, the API reference of every package entry point, from TSDoc (typedoc +
 * typedoc-plugin-markdown). `--check` regenerates into memory and fails when API.md is stale.
 *
 * Each entry point is rendered on its own (one markdown page each) and the pages are joined in
 * a fixed order with their headings moved one level down, so the output is deterministic: no
 * dates, versions, source links or absolute paths.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const API_MD = path.join(ROOT, 'API.md');
const TYPEDOC_BIN = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');

/** Package entry points in the order they appear in API.md; missing ones are skipped. */
const ENTRY_POINTS = [
  { file: 'src/index.ts', name: 'cdk-trpc-subscriptions', about: 'CDK constructs (`import ... from \'cdk-trpc-subscriptions\'`).' },
  { file: 'lambda/index.ts', name: 'cdk-trpc-subscriptions/lambda', about: 'The Lambda runtime: handlers, store, publisher.' },
  { file: 'lambda/local/index.ts', name: 'cdk-trpc-subscriptions/local', about: 'Local development helpers.' },
  { file: 'client/index.ts', name: 'cdk-trpc-subscriptions/client', about: 'The client side: a link for the stock `@trpc/client` (browsers and Node.js).' },
];

/** typedoc and typedoc-plugin-markdown options (ESM-only packages: run through their CLI). */
const TYPEDOC_OPTIONS: Record<string, string | boolean> = {
  tsconfig: path.join(ROOT, 'tsconfig.json'),
  plugin: 'typedoc-plugin-markdown',
  readme: 'none',
  logLevel: 'Warn',
  skipErrorChecking: true,
  disableSources: true,
  disableGit: true,
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  excludeExternals: true,
  router: 'module',
  hidePageHeader: true,
  hideBreadcrumbs: true,
  hidePageTitle: true,
  interfacePropertiesFormat: 'table',
  classPropertiesFormat: 'table',
  parametersFormat: 'table',
  enumMembersFormat: 'table',
  typeDeclarationFormat: 'table',
  useCodeBlocks: true,
};

function renderEntryPoint(file: string, name: string): string {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'docgen-'));
  try {
    const args = [TYPEDOC_BIN, '--entryPoints', path.join(ROOT, file), '--name', name, '--out', outDir];
    for (const [option, value] of Object.entries(TYPEDOC_OPTIONS)) {
      args.push(`--${option}`, String(value));
    }
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    const pages = fs.readdirSync(outDir).filter((page) => page.endsWith('.md')).sort();
    if (pages.length !== 1) {
      throw new Error(`expected one page for ${file}, got: ${pages.join(', ')}`);
    }
    return fs.readFileSync(path.join(outDir, pages[0]), 'utf8');
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

/** Moves every markdown heading (outside code fences) down one level. */
function demoteHeadings(markdown: string): string {
  let inFence = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      inFence = !inFence;
    }
    return !inFence && /^#{1,5} /.test(line) ? `#${line}` : line;
  }).join('\n');
}

async function generate(): Promise<string> {
  const sections = ['# API Reference', '', 'Generated from TSDoc by `npx projen docgen`. Do not edit by hand.', ''];
  for (const entry of ENTRY_POINTS) {
    if (!fs.existsSync(path.join(ROOT, entry.file))) {
      continue;
    }
    const page = renderEntryPoint(entry.file, entry.name);
    sections.push(`## \`${entry.name}\``, '', entry.about, '', demoteHeadings(demoteHeadings(page)).trim(), '');
  }
  return sections.join('\n');
}

async function main(): Promise<void> {
  const markdown = await generate();
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(API_MD) ? fs.readFileSync(API_MD, 'utf8') : '';
    if (current !== markdown) {
      process.stderr.write('API.md is stale: run `npx projen docgen` and commit API.md.\n');
      process.exit(1);
    }
    return;
  }
  fs.writeFileSync(API_MD, markdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
