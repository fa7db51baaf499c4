/**
 * @module
 * A local emulator of the Azure Resource Manager calls cloud-egress makes (VM get, NIC get/PUT with etags
 * and long-running operations, subnet get), served over HTTPS on 127.0.0.1 for the real Azure SDKs.
 */
export * from './arm-errors.ts';
export * from './cloud.ts';
export * from './nic-rules.ts';
export * from './server.ts';
export * from './wire.ts';
