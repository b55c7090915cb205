import { describeStoreConformance } from './store-conformance';
import { memory } from '../../../lambda/store/memory';

describeStoreConformance('memory', () => ({ store: memory({ pageSize: 7 }) }));
