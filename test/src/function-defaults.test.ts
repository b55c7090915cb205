import { Stack } from 'aws-cdk-lib';
import { CfnFunction, Runtime, RuntimeFamily } from 'aws-cdk-lib/aws-lambda';
import { HANDLERS_ENTRY, PRODUCER_ENTRY, appWithoutBundling } from './helpers';
import { PublisherFunction, TrpcSubscriptionApi } from '../../src';
import { TESTED_NODEJS_MAJORS, defaultNodejsRuntime, nodejsMajorOf } from '../../src/function-defaults';

/** The highest `nodejsNN.x` major of the installed aws-cdk-lib, read the way cdk-nag's AwsSolutions-L1 reads it. */
function newestInstalledNodejsMajor(): number {
  return Math.max(...Runtime.ALL.map((r) => /^nodejs(\d+)\.x$/.exec(r.name)).filter((m) => m !== null).map((m) => Number(m![1])));
}

/**
 * Makes the installed aws-cdk-lib look like another version for the duration of `body`: `add`
 * runtimes are known (as a newer release would define them), `hide` names are not (as an older
 * release). Restores `Runtime.ALL` afterwards.
 */
function withKnownRuntimes<T>(change: { add?: string[]; hide?: RegExp }, body: () => T): T {
  const saved = [...Runtime.ALL];
  try {
    if (change.hide) {
      const kept = Runtime.ALL.filter((r) => !change.hide!.test(r.name));
      Runtime.ALL.splice(0, Runtime.ALL.length, ...kept);
    }
    for (const name of change.add ?? []) new Runtime(name, RuntimeFamily.NODEJS, { supportsInlineCode: true });
    return body();
  } finally {
    Runtime.ALL.splice(0, Runtime.ALL.length, ...saved);
  }
}

describe('defaultNodejsRuntime', () => {
  test('GIVEN the installed aws-cdk-lib WHEN asked THEN its newest Node.js runtime (what cdk-nag calls latest)', () => {
    const runtime = defaultNodejsRuntime();

    expect(nodejsMajorOf(runtime)).toBe(newestInstalledNodejsMajor());
    // aws-cdk-lib 2.278 (the repository's) knows Node.js 26.
    expect(runtime.name).toBe('nodejs26.x');
  });

  test('GIVEN a newer aws-cdk-lib that knows Node.js 28 WHEN asked THEN Node.js 28, so the default never goes stale', () => {
    const runtime = withKnownRuntimes({ add: ['nodejs28.x'] }, () => defaultNodejsRuntime());

    expect(runtime.name).toBe('nodejs28.x');
  });

  test('GIVEN an aws-cdk-lib older than 2.224 (newest Node.js 22) WHEN asked THEN Node.js 24 by its identifier, which cdk-nag then counts as the newest', () => {
    withKnownRuntimes({ hide: /^nodejs2[4-9]\.x$/ }, () => {
      const runtime = defaultNodejsRuntime();

      expect(runtime.name).toBe('nodejs24.x');
      expect(runtime.family).toBe(RuntimeFamily.NODEJS);
      expect(newestInstalledNodejsMajor()).toBe(24);
      // Asked again, the same runtime (not one more entry in Runtime.ALL per function).
      const count = Runtime.ALL.length;
      expect(defaultNodejsRuntime()).toBe(runtime);
      expect(Runtime.ALL.length).toBe(count);
    });
  });
});

describe('the default runtime of every function the package creates', () => {
  /** The info and warning notes on the construct tree about an untested runtime (read without a synth). */
  const notesAbout = (stack: Stack, type: 'aws:cdk:info' | 'aws:cdk:warning' = 'aws:cdk:info') => stack.node.findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === type).map((m) => ({ path: c.node.path, text: String(m.data) })))
    .filter((note) => note.text.includes('newer than the Node.js versions the runtime is tested on'));

  const runtimesOf = (stack: Stack) => stack.node.findAll()
    .filter((c): c is CfnFunction => c instanceof CfnFunction)
    .map((f) => f.runtime);

  function stackWith(runtime?: Runtime): Stack {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const realtime = new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, queuedFanOut: {}, runtime });
    new PublisherFunction(stack, 'Producer', { entry: PRODUCER_ENTRY, api: realtime, runtime });
    return stack;
  }

  test('GIVEN no runtime WHEN synthesised THEN the handlers, rollover, worker and publisher all run the newest runtime', () => {
    const runtimes = runtimesOf(stackWith());

    expect(runtimes).toHaveLength(6);
    expect(new Set(runtimes)).toEqual(new Set(['nodejs26.x']));
  });

  test('GIVEN an explicit runtime WHEN synthesised THEN it wins everywhere', () => {
    expect(new Set(runtimesOf(stackWith(Runtime.NODEJS_22_X)))).toEqual(new Set(['nodejs22.x']));
  });

  test('GIVEN a default runtime within the tested versions WHEN synthesised THEN no note', () => {
    expect(Math.max(...TESTED_NODEJS_MAJORS)).toBeGreaterThanOrEqual(newestInstalledNodejsMajor());
    expect(notesAbout(stackWith())).toEqual([]);
  });

  test('GIVEN a default runtime newer than the tested versions WHEN synthesised THEN an info note on the API and on the publisher, never a warning', () => {
    withKnownRuntimes({ add: ['nodejs99.x'] }, () => {
      const stack = stackWith();

      expect(notesAbout(stack).map((note) => note.path)).toEqual(['Stack/Realtime', 'Stack/Producer']);
      expect(notesAbout(stack)[0].text).toContain('the default runtime nodejs99.x');
      expect(notesAbout(stack, 'aws:cdk:warning')).toEqual([]);
      // An explicit runtime is the user's choice: no note.
      expect(notesAbout(stackWith(Runtime.ALL.find((r) => r.name === 'nodejs99.x')))).toEqual([]);
    });
  });
});
