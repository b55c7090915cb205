import * as path from 'path';
import { CfnParameter, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { DomainName } from 'aws-cdk-lib/aws-apigatewayv2';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { AttributeType, Table, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { HANDLERS_ENTRY, appWithoutBundling } from './helpers';
import { PropValidationError, TrpcSubscriptionApi, type TrpcSubscriptionApiProps } from '../../src';

function build(props: Partial<TrpcSubscriptionApiProps>, stack = new Stack(appWithoutBundling(), 'Stack')): TrpcSubscriptionApi {
  return new TrpcSubscriptionApi(stack, 'Realtime', { entry: HANDLERS_ENTRY, ...props });
}

function tableV2(stack: Stack, partitionKey: string, sortKey?: string, ttl?: string): TableV2 {
  return new TableV2(stack, 'Existing', {
    partitionKey: { name: partitionKey, type: AttributeType.STRING },
    sortKey: sortKey === undefined ? undefined : { name: sortKey, type: AttributeType.STRING },
    timeToLiveAttribute: ttl,
  });
}

describe('synth-time errors name the prop and the value', () => {
  test('GIVEN a missing entry file WHEN constructed THEN it throws', () => {
    const entry = path.join(__dirname, 'no-such-handlers.ts');
    expect(() => build({ entry })).toThrow(`\`entry\` must be an existing file, got: ${entry}`);
  });

  test('GIVEN an entry that is a directory WHEN constructed THEN it throws', () => {
    const entry = path.dirname(HANDLERS_ENTRY);
    expect(() => build({ entry })).toThrow(`\`entry\` must be an existing file, got: ${entry}`);
  });

  test('GIVEN a relative entry WHEN constructed THEN it is resolved against the working directory', () => {
    expect(() => build({ entry: 'no/such/handlers.ts' }))
      .toThrow(`\`entry\` must be an existing file, got: ${path.resolve('no/such/handlers.ts')}`);
  });

  test('GIVEN an entry without the handler export WHEN constructed THEN it names the missing export and lists the exports found', () => {
    const entry = path.join(__dirname, '..', 'fixtures', 'entries', 'wrong-names.ts');
    expect(() => build({ entry }))
      .toThrow('`entry` must export `handler` (handlerNames.message), got: exports `connect`, `disconnect`, `message`');
  });

  test('GIVEN handlerNames that the entry does not export WHEN constructed THEN it names each missing export', () => {
    expect(() => build({ handlerNames: { connect: 'onConnect', disconnect: 'onDisconnect' } }))
      .toThrow('`entry` must export `onConnect` (handlerNames.connect), `onDisconnect` (handlerNames.disconnect), '
        + 'got: exports `connect`, `disconnect`, `handler`');
  });

  test('GIVEN an entry that re-exports the handlers from its own files WHEN constructed THEN the re-exports count', () => {
    const entry = path.join(__dirname, '..', 'fixtures', 'entries', 're-exports.ts');
    expect(() => build({ entry, handlerNames: { message: 'onMessage' } })).not.toThrow();
    expect(() => build({ entry })).toThrow('`entry` must export `handler` (handlerNames.message), got: exports `connect`, `disconnect`, `onMessage`');
  });

  test('GIVEN the rollover on and an entry without its export WHEN constructed THEN it names the rollover export, and not when the rollover is off', () => {
    const entry = path.join(__dirname, '..', 'fixtures', 'entries', 're-exports.ts');
    const handlerNames = { message: 'onMessage', rollover: 'rollNow' };
    expect(() => build({ entry, handlerNames }))
      .toThrow('`entry` must export `rollNow` (handlerNames.rollover; or turn the rollover off with `rollover: { enabled: false }`), '
        + 'got: exports `connect`, `disconnect`, `onMessage`, `rollover`');
    expect(() => build({ entry, handlerNames, rollover: { enabled: false } })).not.toThrow();
  });

  test('GIVEN queuedFanOut and an entry without the worker export WHEN constructed THEN it names the worker export, and not without queuedFanOut', () => {
    const entry = path.join(__dirname, '..', 'fixtures', 'entries', 're-exports.ts');
    const handlerNames = { message: 'onMessage' };
    expect(() => build({ entry, handlerNames, queuedFanOut: {} }))
      .toThrow('`entry` must export `worker` (queuedFanOut.handlerName), got: exports `connect`, `disconnect`, `onMessage`, `rollover`');
    expect(() => build({ entry, handlerNames, queuedFanOut: { handlerName: 'rollover' } })).not.toThrow();
    expect(() => build({ entry, handlerNames })).not.toThrow();
  });

  test('GIVEN a CommonJS entry WHEN constructed THEN its exports are not judged statically', () => {
    const entry = path.join(__dirname, '..', 'fixtures', 'entries', 'common-js.js');
    expect(() => build({ entry, handlerNames: { message: 'notExported' } })).not.toThrow();
  });

  test('GIVEN a handler name that is not an identifier WHEN constructed THEN it throws', () => {
    expect(() => build({ handlerNames: { connect: 'on-connect' } }))
      .toThrow('`handlerNames.connect` must be a JavaScript identifier, got: "on-connect"');
  });

  test('GIVEN a non-Node.js runtime WHEN constructed THEN it throws', () => {
    expect(() => build({ runtime: Runtime.PYTHON_3_13 }))
      .toThrow('`runtime` must be a Node.js runtime, got: python3.13');
  });

  test.each([64, 10_241, 512.5])('GIVEN memorySize %p WHEN constructed THEN it throws', (memorySize) => {
    expect(() => build({ memorySize }))
      .toThrow(`\`memorySize\` must be an integer from 128 to 10240 (MB), got: ${memorySize}`);
  });

  test('GIVEN a rowTtl under 2 hours WHEN constructed THEN it throws', () => {
    expect(() => build({ rowTtl: Duration.minutes(30) }))
      .toThrow('`rowTtl` must be at least 2 hours (the API Gateway connection limit), got: 30 minutes');
  });

  test('GIVEN a rowTtl of exactly 2 hours WHEN constructed THEN it is accepted', () => {
    expect(() => build({ rowTtl: Duration.hours(2) })).not.toThrow();
  });

  test('GIVEN a timeout over 29 seconds WHEN constructed THEN it throws', () => {
    expect(() => build({ timeout: Duration.minutes(1) }))
      .toThrow('`timeout` must be at most 29 seconds (the API Gateway integration timeout), got: 1 minute');
  });

  test.each(['my stage', '', 'x'.repeat(129), '$default'])('GIVEN stageName %p WHEN constructed THEN it throws', (stageName) => {
    expect(() => build({ stageName }))
      .toThrow(`\`stageName\` must be 1 to 128 letters, digits, hyphens or underscores, got: ${JSON.stringify(stageName)}`);
  });

  test('GIVEN a negative throttle rate WHEN constructed THEN it throws', () => {
    expect(() => build({ throttle: { rateLimit: -1 } }))
      .toThrow('`throttle.rateLimit` must be a non-negative number, got: -1');
  });

  test('GIVEN a fractional throttle burst WHEN constructed THEN it throws', () => {
    expect(() => build({ throttle: { burstLimit: 2.5 } }))
      .toThrow('`throttle.burstLimit` must be a non-negative integer, got: 2.5');
  });

  test('GIVEN a custom domain name without a certificate WHEN constructed THEN it throws', () => {
    expect(() => build({ customDomain: { name: 'realtime.example.com' } }))
      .toThrow('`customDomain` must set either `domainName`, or both `name` and `certificate`, got: name');
  });

  test('GIVEN both an existing domain and a name WHEN constructed THEN it throws', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const domainName = DomainName.fromDomainNameAttributes(stack, 'Domain', {
      name: 'realtime.example.com', regionalDomainName: 'd.example.com', regionalHostedZoneId: 'Z1',
    });
    const certificate = Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');
    expect(() => build({ customDomain: { domainName, name: 'other.example.com', certificate } }, stack))
      .toThrow('`customDomain` must set either `domainName`, or both `name` and `certificate`, got: domainName, name, certificate');
  });

  test('GIVEN an empty custom domain WHEN constructed THEN it throws', () => {
    expect(() => build({ customDomain: {} }))
      .toThrow('`customDomain` must set either `domainName`, or both `name` and `certificate`, got: none of them');
  });

  test('GIVEN an encryption key in a region-agnostic stack WHEN constructed THEN it throws', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    expect(() => build({ encryptionKey: new Key(stack, 'Key') }, stack))
      .toThrow('`encryptionKey` needs a stack with an explicit region (env: { region }), got: a region-agnostic stack');
  });

  test('GIVEN a TableV2 with the wrong partition key and no sort key WHEN constructed THEN it throws', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    expect(() => build({ table: tableV2(stack, 'id') }, stack))
      .toThrow('`table` must have the partition key pk (S) and the sort key sk (S), got: partition key id (S), no sort key');
  });

  test('GIVEN a Table with a numeric sort key WHEN constructed THEN it throws', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const table = new Table(stack, 'Existing', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.NUMBER },
      timeToLiveAttribute: 'expireAt',
    });
    expect(() => build({ table }, stack))
      .toThrow('`table` must have the partition key pk (S) and the sort key sk (S), got: partition key pk (S), sort key sk (N)');
  });

  test('GIVEN a rollover schedule under a minute WHEN constructed THEN it throws', () => {
    expect(() => build({ rollover: { schedule: Duration.seconds(30) } })).toThrow(
      '`rollover.schedule` must be a whole number of minutes, at least 1 (an EventBridge rate), got: 30 seconds',
    );
  });

  test('GIVEN a rollover age that leaves less than two runs before 2 hours WHEN constructed THEN it throws', () => {
    expect(() => build({ rollover: { age: Duration.minutes(119) } })).toThrow(
      '`rollover.age` must be at least 1 minute and leave two runs of `rollover.schedule` (1 minute) before the 2-hour connection limit, got: 1 hour 59 minutes',
    );
    expect(() => build({ rollover: { age: Duration.minutes(118) } })).not.toThrow();
  });

  test('GIVEN an invalid rollover with rollover disabled WHEN constructed THEN it is not validated', () => {
    expect(() => build({ rollover: { enabled: false, age: Duration.hours(3) } })).not.toThrow();
  });

  test('GIVEN a rollover export name that is not an identifier WHEN constructed THEN it throws', () => {
    expect(() => build({ handlerNames: { rollover: 'roll over' } })).toThrow('`handlerNames.rollover` must be a JavaScript identifier, got: "roll over"');
  });

  test('GIVEN errors WHEN thrown THEN they are PropValidationErrors naming the prop', () => {
    let error: unknown;
    try {
      build({ memorySize: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PropValidationError);
    expect((error as PropValidationError).prop).toBe('memorySize');
  });
});

describe('unresolved values are not validated at synth time', () => {
  test('GIVEN tokens for memorySize, stageName and throttle WHEN constructed THEN nothing throws', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const number = (id: string) => Token.asNumber(new CfnParameter(stack, id, { type: 'Number' }).valueAsNumber);
    build({
      memorySize: number('Memory'),
      stageName: new CfnParameter(stack, 'StageName').valueAsString,
      throttle: { rateLimit: number('Rate'), burstLimit: number('Burst') },
    }, stack);

    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: { Ref: 'StageName' } });
  });

  test('GIVEN an imported table WHEN constructed THEN its unknown schema is accepted', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    const table = TableV2.fromTableName(stack, 'Imported', 'subscriptions');
    const realtime = build({ table }, stack);

    expect(realtime.table).toBe(table);
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('warnings', () => {
  test('GIVEN a table without TTL WHEN constructed THEN it warns that rows will not expire', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    build({ table: tableV2(stack, 'pk', 'sk') }, stack);

    Annotations.fromStack(stack).hasWarning('/Stack/Realtime',
      '`table` should have TTL on expireAt, got: no TTL; rows of connections whose $disconnect never arrived '
      + 'will not expire [ack: cdk-trpc-subscriptions:tableTtl]');
  });

  test('GIVEN a table with TTL on expireAt WHEN constructed THEN there is no warning', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    build({ table: tableV2(stack, 'pk', 'sk', 'expireAt') }, stack);

    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });

  test('GIVEN table-only props with a table WHEN constructed THEN it warns that they are ignored', () => {
    const stack = new Stack(appWithoutBundling(), 'Stack');
    build({
      table: tableV2(stack, 'pk', 'sk', 'expireAt'),
      removalPolicy: RemovalPolicy.DESTROY,
      pointInTimeRecovery: true,
    }, stack);

    Annotations.fromStack(stack).hasWarning('/Stack/Realtime',
      '`pointInTimeRecovery` only apply to a table the construct creates; they are ignored '
      + 'with `table` [ack: cdk-trpc-subscriptions:ignoredTableProps]');
  });
});
