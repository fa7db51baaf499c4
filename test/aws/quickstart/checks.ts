/**
 * @module
 * What each `aws` command of the quick start must have done, checked in LocalStack's state after it ran, by
 * `service operation`. The arguments are the ones the command got after the shell expanded them, so every
 * occurrence is checked with its own values.
 */
import type { Check } from './check-context.ts';
import { EC2_CHECKS } from './ec2-checks.ts';
import { IAM_CHECKS } from './iam-checks.ts';

/** Every check, by `service operation`. */
export const CHECKS: Readonly<Record<string, Check>> = { ...EC2_CHECKS, ...IAM_CHECKS };
