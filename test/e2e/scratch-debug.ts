import { execSync } from 'node:child_process';
import { AssignPrivateIpAddressesCommand } from '@aws-sdk/client-ec2';
import { BOX_POLICY, startCloudBox } from './cloud-box.ts';

const IP = '10.0.1.100';
const provider = (process.argv[2] ?? 'aws') as 'aws' | 'none';
const t0 = Date.now();
const box = await startCloudBox({
  provider,
  controllerFlags: ['--probe-interval', '500ms', '--probe-misses', '4', '--probe-damping', '3s'],
  onPhase: (p, ms) => console.log('phase', p, Math.round(ms)),
});
console.log('box up in', Date.now() - t0, 'ms');
try {
  for (let i = 0; i < 60; i++) {
    const a = await box.kube.assignments('shop', 'to-partner');
    console.log(Date.now() - t0, JSON.stringify(a), 'vpc:', box.deliveredTo(IP));
    if (provider === 'none' && a[0]?.node && a[0].state !== 'Failed') {
      await box.net.world.ec2.send(
        new AssignPrivateIpAddressesCommand({
          NetworkInterfaceId: box.net.world.enis.get(a[0].node),
          PrivateIpAddresses: [IP],
        }),
      );
    }
    if (box.deliveredTo(IP)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const probes = box.startProbes();
  await new Promise((r) => setTimeout(r, 8000));
  for (const [pod, s] of probes.samples) console.log(pod, s.length, JSON.stringify(s.slice(-3)));
  console.log('READY', box.net.topology.prefix);
  await new Promise((r) => setTimeout(r, Number(process.env.HOLD_MS ?? 0)));
  await probes.stop();
} finally {
  execSync(`rm -rf /tmp/e2e-scratch; cp -r ${box.net.dir} /tmp/e2e-scratch/`);
  await box.stop();
}
