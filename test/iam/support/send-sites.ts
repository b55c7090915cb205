/**
 * Every place in the runtime that sends an AWS request, found in the source: the calls of an AWS
 * SDK client's `send`, and the calls of runtime functions that (transitively) make one. The IAM
 * simulation compares them with the call sites on the stacks of the requests its scenarios
 * recorded, so a request added to the runtime later fails the coverage check until a scenario
 * sends it, and so until the simulator has evaluated it against the role's grants.
 *
 * Syntactic, without the type checker (which costs half a minute on a loaded machine): a call is
 * resolved by name, `this.name(...)` and `name(...)` to a function of the same file or to an
 * imported one. Calls through interfaces (`store.removeSubscription(...)`) are not followed: the
 * sites are where the requests are built and sent, and a scenario sends each of them.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** A call that sends an AWS request, directly or through runtime functions. */
export interface SendSite {
  /**
   * Names the call without its line: `lambda/store/dynamodb.ts removeSubscription -> transact#2`
   * (`#n`: the n-th call of that name in that function, when there are several).
   */
  readonly id: string;
  /** Path relative to the repository root, e.g. `lambda/store/dynamodb.ts`. */
  readonly file: string;
  /** 1-based line of the called name (the line a V8 stack frame reports for the call). */
  readonly line: number;
  /** The function that holds the call, e.g. `removeConnection`, or `(anonymous in createStopFn)`. */
  readonly inFunction: string;
  /** What is called, e.g. `send` or `getItem`. */
  readonly callee: string;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RUNTIME = path.join(ROOT, 'lambda');
/** The local emulator and `dev` never run in AWS. */
const NOT_DEPLOYED = path.join(RUNTIME, 'local');

function runtimeFiles(dir = RUNTIME): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return full === NOT_DEPLOYED ? [] : runtimeFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

type FunctionNode = ts.FunctionLikeDeclaration & { body: ts.Node };

/**
 * A call whose result is kept rather than awaited or dropped (returned, assigned): the callbacks
 * it takes may run later (`return instrumented(rt, async (event) => ...)` wraps a handler).
 */
function isKept(call: ts.CallExpression): boolean {
  const parent = call.parent;
  return ts.isReturnStatement(parent) || ts.isArrowFunction(parent) || ts.isVariableDeclaration(parent)
    || ts.isPropertyAssignment(parent) || (ts.isBinaryExpression(parent) && parent.right === call);
}

/**
 * The function a call belongs to. A callback passed to a call that is awaited or run for its
 * effect (`await forEachBounded(pages, n, (page) => ...)`, `await withDeadline(ms, name, (signal)
 * => client.send(...))`) runs during that call, so its calls belong to the function around it;
 * a function assigned, returned or passed to a kept call is its own.
 */
function ownerOf(node: ts.Node): FunctionNode | undefined {
  for (let current = node.parent; current; current = current.parent) {
    if (!(ts.isFunctionLike(current) && 'body' in current && current.body)) continue;
    const parent = current.parent;
    const isCallback = (ts.isArrowFunction(current) || ts.isFunctionExpression(current))
      && ts.isCallExpression(parent) && parent.arguments.includes(current as ts.Expression) && !isKept(parent);
    if (!isCallback) return current as FunctionNode;
  }
  return undefined;
}

/** The name a function is called by, if it has one. */
function nameOf(fn: FunctionNode | undefined): string | undefined {
  if (!fn) return undefined;
  if (fn.name && (ts.isIdentifier(fn.name) || ts.isPrivateIdentifier(fn.name))) return fn.name.text;
  const parent = fn.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) && ts.isIdentifier(parent.name)) return parent.name.text;
  return undefined;
}

/** A stable label of a function for messages: its name, else `(anonymous in <the named function around it>)`. */
function labelOf(fn: FunctionNode | undefined): string {
  if (!fn) return '(module)';
  const name = nameOf(fn);
  if (name !== undefined) return name;
  let outer = ownerOf(fn);
  while (outer && nameOf(outer) === undefined) outer = ownerOf(outer);
  return `(anonymous in ${outer ? nameOf(outer) : 'module'})`;
}

/** The called name: what a V8 stack frame points at (`send` of `client.send(...)`). */
function calledName(call: ts.CallExpression): ts.Identifier | ts.PrivateIdentifier | undefined {
  const callee = call.expression;
  if (ts.isPropertyAccessExpression(callee)) return callee.name;
  return ts.isIdentifier(callee) ? callee : undefined;
}

interface Call {
  readonly file: string;
  readonly node: ts.CallExpression;
  /** Where the stack shows it: the called name, or the `for await` that pulls a lazy sender's pages. */
  readonly at: ts.Node;
  /** The function holding the call is a generator (its sends happen as it is iterated). */
  readonly inGenerator: boolean;
  /** The `for await` (same function) that iterates what this call returns, if any. */
  readonly iteratedBy: ts.ForOfStatement | undefined;
  readonly name: ts.Identifier | ts.PrivateIdentifier;
  readonly owner: string | undefined;
  readonly label: string;
  /** The function it calls by name, as `file#name`, when that can be known without types. */
  readonly target: string | undefined;
  readonly sdkSend: boolean;
}

/**
 * The `for await` of `owner` that iterates what `call` returns: `for await (const x of call)`, or
 * `const pages = call; ... for await (const x of pages)`.
 */
function iterationOf(call: ts.CallExpression, owner: FunctionNode | undefined): ts.ForOfStatement | undefined {
  for (let current: ts.Node = call; current.parent && current !== owner; current = current.parent) {
    const parent = current.parent;
    if (ts.isForOfStatement(parent) && parent.awaitModifier && parent.expression === current) return parent;
  }
  const declaration = call.parent;
  if (!owner || !ts.isVariableDeclaration(declaration) || !ts.isIdentifier(declaration.name)) return undefined;
  const variable = declaration.name.text;
  let found: ts.ForOfStatement | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isForOfStatement(node) && node.awaitModifier && ts.isIdentifier(node.expression) && node.expression.text === variable) found = node;
    else ts.forEachChild(node, visit);
  };
  visit(owner.body);
  return found;
}

/** Imported bindings of a file: local name -> `file#exportedName`. */
function importsOf(file: string, source: ts.SourceFile): Map<string, string> {
  const bindings = new Map<string, string>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const specifier = statement.moduleSpecifier.text;
    if (!specifier.startsWith('.')) continue;
    const base = path.resolve(path.dirname(file), specifier);
    const target = [`${base}.ts`, path.join(base, 'index.ts')].find((candidate) => fs.existsSync(candidate));
    const named = statement.importClause?.namedBindings;
    if (!target || !named || !ts.isNamedImports(named)) continue;
    for (const element of named.elements) {
      bindings.set(element.name.text, `${target}#${(element.propertyName ?? element.name).text}`);
    }
  }
  return bindings;
}

/** The send sites of the runtime (`lambda/`, without the local emulator). */
export function findSendSites(): SendSite[] {
  const calls: Call[] = [];
  for (const file of runtimeFiles()) {
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const imports = importsOf(file, source);
    const visit = (node: ts.Node): void => {
      const name = ts.isCallExpression(node) ? calledName(node) : undefined;
      if (ts.isCallExpression(node) && name) {
        const callee = node.expression;
        const isProperty = ts.isPropertyAccessExpression(callee);
        const sdkSend = isProperty && name.text === 'send';
        if (sdkSend && !/client/i.test(callee.expression.getText())) {
          throw new Error(`${path.relative(ROOT, file)}: \`${node.getText().slice(0, 60)}\` is a send on something not named a client; teach send-sites.ts what it is`);
        }
        const onThis = isProperty && callee.expression.kind === ts.SyntaxKind.ThisKeyword;
        const target = onThis ? `${file}#${name.text}` : !isProperty ? imports.get(name.text) ?? `${file}#${name.text}` : undefined;
        const ownerFunction = ownerOf(node);
        const owner = nameOf(ownerFunction);
        const iteratedBy = iterationOf(node, ownerFunction);
        calls.push({
          file,
          node,
          name,
          at: name,
          inGenerator: ownerFunction?.asteriskToken !== undefined,
          iteratedBy,
          owner: owner === undefined ? undefined : `${file}#${owner}`,
          label: labelOf(ownerFunction),
          target,
          sdkSend,
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  // The functions that send, to a fixed point: those with an SDK send, then their callers. A lazy
  // sender (a generator, or a function returning one's pages) sends while it is iterated: a
  // call of it is a site only where a `for await` of the same function pulls its pages (that is
  // the line on the stack); otherwise its pages are handed on, and so is the laziness.
  const senders = new Map<string, { lazy: boolean }>();
  const sites = new Map<Call, ts.Node>();
  const handled = new Set<Call>();
  for (let changed = true; changed;) {
    changed = false;
    for (const call of calls) {
      if (handled.has(call)) continue;
      const target = call.target === undefined ? undefined : senders.get(call.target);
      if (!call.sdkSend && !target) continue;
      handled.add(call);
      changed = true;
      const handsOn = target?.lazy === true && !call.iteratedBy;
      if (!handsOn) sites.set(call, target?.lazy ? call.iteratedBy!.initializer : call.at);
      if (call.owner && !senders.get(call.owner)?.lazy) senders.set(call.owner, { lazy: call.inGenerator || handsOn });
    }
  }
  const located = [...sites].map(([{ file, name, label }, at]) => ({
    file: path.relative(ROOT, file).split(path.sep).join('/'),
    line: at.getSourceFile().getLineAndCharacterOfPosition(at.getStart()).line + 1,
    position: at.getStart(),
    inFunction: label,
    callee: name.text,
  })).sort((a, b) => a.file.localeCompare(b.file) || a.position - b.position);
  const counts = new Map<string, number>();
  for (const site of located) {
    const key = `${site.file} ${site.inFunction} -> ${site.callee}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  return located.map(({ file, line, inFunction, callee }) => {
    const key = `${file} ${inFunction} -> ${callee}`;
    const nth = (seen.get(key) ?? 0) + 1;
    seen.set(key, nth);
    return { id: counts.get(key)! > 1 ? `${key}#${nth}` : key, file, line, inFunction, callee };
  });
}
