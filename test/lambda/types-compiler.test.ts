import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

/**
 * Proves the compile-time tests can fail: compiles small snippets with the TypeScript compiler
 * API and checks that the wrong ones produce diagnostics on exactly the expected lines.
 */
const ROOT = join(__dirname, '..', '..');

function compile(source: string): ts.Diagnostic[] {
  const file = join(__dirname, `.snippet-${randomUUID()}.ts`);
  writeFileSync(file, source);
  try {
    const configFile = ts.readConfigFile(join(ROOT, 'tsconfig.dev.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
    const program = ts.createProgram([file], { ...parsed.options, noEmit: true });
    return ts.getPreEmitDiagnostics(program).filter((diagnostic) => diagnostic.file?.fileName === file);
  } finally {
    rmSync(file, { force: true });
  }
}

function errorLines(diagnostics: ts.Diagnostic[]): number[] {
  return [...new Set(diagnostics.map((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line + 1))].sort((a, b) => a - b);
}

const PRELUDE = `
import { initTRPC } from '@trpc/server';
import { z } from 'zod';
import { initSubscriptions, memory } from '../../lambda';
const subscriptions = initSubscriptions();
const t = initTRPC.context<{ userId: string }>().create();
const router = t.router({
  onMessage: t.procedure.input(z.object({ room: z.string() })).subscription(subscriptions.resolver<{ text: string }>()),
});
const app = subscriptions.router({ router, createContext: () => ({ userId: 'u' }) }).store({ store: memory() })
  .routes.onMessage.filter({ name: 'byUserAndRoom', ctx: { userId: true }, input: { room: true } });
const publisher = app.publisher({ endpoint: 'http://127.0.0.1:1/x' });
`;
const PRELUDE_LINES = PRELUDE.split('\n').length;

describe('compile-time type tests can fail', () => {
  test('a correct snippet compiles without diagnostics', () => {
    const diagnostics = compile(`${PRELUDE}
void publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byUserAndRoom', ctx: { userId: 'u1' }, input: { room: 'a' } } });
`);
    expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  });

  test('wrong filters, publish filters and data are compile errors on their lines', () => {
    const diagnostics = compile(`${PRELUDE}
app.routes.onMessage.filter({ name: 'x', ctx: { nope: true } });
void publisher.routes.onMessage.publish({ data: { text: 1 } });
void publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'unknown' } });
void publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byUserAndRoom', input: { room: 'a' } } });
void publisher.routes.onMessage.publish({ data: { text: 'hi' }, filter: { name: 'byUserAndRoom', ctx: { userId: 2 } } });
void publisher.routes.onMessage.publish({ data: { text: 'hi' } });
`);
    const offset = PRELUDE_LINES;
    expect(errorLines(diagnostics)).toEqual([1, 2, 3, 4, 5].map((n) => n + offset));
    const messages = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n');
    expect(messages).toMatch(/nope/);
    expect(messages).toMatch(/"unknown"/);
    expect(messages).toMatch(/Property 'ctx' is missing/);
  });
});

describe('publishing inside a mutation', () => {
  const HEADER = `
import { initTRPC } from '@trpc/server';
import { initSubscriptions } from '../../lambda';
const subscriptions = initSubscriptions();
const t = initTRPC.context<{ userId: string }>().create();
`;

  test('GIVEN one router whose mutation returns a publish result WHEN compiled THEN its type is circular (TS7022): why the README splits the routes', () => {
    const diagnostics = compile(`${HEADER}
export const appRouter = t.router({
  onMessage: t.procedure.subscription(subscriptions.resolver<{ text: string }>()),
  send: t.procedure.mutation(async () => publisher.routes.onMessage.publish({ data: { text: 'hi' } })),
});
const appSubscriptions = subscriptions.router({ router: appRouter, createContext: () => ({ userId: 'u' }) });
const publisher = appSubscriptions.publisher();
`);
    expect(diagnostics.map((d) => d.code)).toContain(7022);
  });

  test('GIVEN the subscription routes in their own router, merged and served WHEN compiled THEN there is no diagnostic', () => {
    const diagnostics = compile(`${HEADER}
const subscriptionRouter = t.router({ onMessage: t.procedure.subscription(subscriptions.resolver<{ text: string }>()) });
const appSubscriptions = subscriptions.router({ router: subscriptionRouter, createContext: () => ({ userId: 'u' }) });
const publisher = appSubscriptions.publisher();
export const appRouter = t.mergeRouters(subscriptionRouter, t.router({
  send: t.procedure.mutation(async () => publisher.routes.onMessage.publish({ data: { text: 'hi' } })),
}));
export const handler = appSubscriptions.serve(appRouter).handler();
`);
    expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  });
});
