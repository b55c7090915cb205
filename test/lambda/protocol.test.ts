import { describeProtocol } from './support/protocol-suite';
import { memoryFixture } from './support/store-fixtures';

describeProtocol(memoryFixture);
