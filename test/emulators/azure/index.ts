/**
 * @module
 * A local emulator of the Azure Resource Manager calls cloud-egress makes (VM and scale-set instance get, NIC
 * get/PUT with etags, the one-operation move, virtual network and route table get/PUT,
 * and long-running operations, subnet get), served over HTTPS on 127.0.0.1 for the real Azure SDKs.
 */
export * from './arm-errors.ts';
export * from './cloud.ts';
export * from './nic-rules.ts';
export * from './route-rules.ts';
export * from './server.ts';
export * from './wire.ts';
