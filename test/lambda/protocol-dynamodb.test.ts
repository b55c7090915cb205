import { describeProtocol } from './support/protocol-suite';
import { dynamodbFixture } from './support/store-fixtures';

// The same protocol suite with the real client, over dynamodb() on DynamoDB Local.
describeProtocol(dynamodbFixture());
