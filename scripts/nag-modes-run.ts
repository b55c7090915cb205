/**
 * `tsx scripts/nag-modes-run.ts <cdk-nag module>...`: cdk-nag's AwsSolutions and Serverless packs
 * on every mode of test/src/nag-modes.ts, with each cdk-nag module given (`cdk-nag`, or an alias
 * such as `cdk-nag-v2` for cdk-nag 2); exits 1 when a mode reports anything but the app's own
 * decisions. `npm run check:package` runs it in its fresh apps; in the repository it runs on the
 * sources (`npx tsx scripts/nag-modes-run.ts cdk-nag cdk-nag-v2`).
 */
import * as path from 'path';
import { NAG_MODES, expectedFindings, findingsV2, findingsV3, modeStack, type NagPackClasses } from '../test/src/nag-modes';

const ENTRIES = {
  handlers: path.join(__dirname, '..', 'test', 'fixtures', 'handlers', 'index.ts'),
  producer: path.join(__dirname, '..', 'test', 'fixtures', 'handlers', 'producer.ts'),
};

function main(modules: readonly string[]): number {
  if (modules.length === 0) throw new Error('name at least one cdk-nag module, e.g. cdk-nag cdk-nag-v2');
  let failures = 0;
  for (const name of modules) {
    // The module names come from the command line (an alias such as cdk-nag-v2 among them).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const packs = require(name) as NagPackClasses;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { version } = require(`${name}/package.json`) as { version: string };
    // cdk-nag 3's packs are policy validation plugins (validateScope); cdk-nag 2's are Aspects.
    const isPlugin = typeof (new packs.AwsSolutionsChecks() as { validateScope?: unknown }).validateScope === 'function';
    for (const [mode, { recommended }] of Object.entries(NAG_MODES)) {
      const stack = modeStack(mode, ENTRIES);
      const found = isPlugin ? findingsV3(stack, packs) : findingsV2(stack, packs);
      const expected = expectedFindings(stack, recommended);
      const unexpected = found.filter((finding) => !expected.includes(finding));
      const missing = expected.filter((finding) => !found.includes(finding));
      const ok = unexpected.length === 0 && missing.length === 0;
      console.log(`${ok ? 'ok  ' : 'FAIL'} cdk-nag ${version} (${isPlugin ? 'Validations plugin' : 'Aspects'}), ${mode}: ${found.length} findings${ok ? ', all the app\'s own' : ''}`);
      for (const finding of unexpected) console.log(`       not acknowledged: ${finding}`);
      for (const finding of missing) console.log(`       expected but not reported: ${finding}`);
      if (!ok) failures++;
    }
  }
  return failures;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2)) > 0 ? 1 : 0;
}
