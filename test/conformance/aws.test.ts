/**
 * @module
 * The provider conformance suite and the lying-cloud cases against the AWS provider on LocalStack (EC2
 * fidelity patches on), on one LocalStack: the world of test/aws/conformance-world.ts.
 */
import { startAwsWorld } from '../aws/conformance-world.ts';
import { runProviderConformance } from './cloud-provider.case.ts';
import { runLyingCloudCases, shareWorld } from './lying-cloud.case.ts';

const world = shareWorld(() => startAwsWorld());
runProviderConformance({ name: 'aws (LocalStack)', setup: world });
runLyingCloudCases({ name: 'aws (LocalStack behind the fault proxy)', setup: world });
