import { describe, expect, it } from 'vitest';
import { DEFAULT_AGENT_HEALTH_PORT } from '../kube/agent-health-port.ts';
import { AgentConfigError, AgentHelpRequested, parseAgentConfig } from './agent-config.ts';
import { DEFAULT_DATAPLANE_SETTINGS } from './settings.ts';

describe('parseAgentConfig', () => {
  it('reads flags and the DaemonSet environment, with defaults', () => {
    const c = parseAgentConfig(['--cluster-cidr', '10.244.0.0/16,10.96.0.0/12', '--interface', 'ens5'], {
      NODE_NAME: 'node-1',
      NODE_IP: '10.0.0.1',
      KUBECONFIG: '/k',
    });
    expect(c).toMatchObject({
      cleanup: false,
      nodeName: 'node-1',
      nodeIp: '10.0.0.1',
      iface: 'ens5',
      clusterCidrs: ['10.244.0.0/16', '10.96.0.0/12'],
      discoverClusterCidrs: true,
      healthPort: DEFAULT_AGENT_HEALTH_PORT,
      kubeconfig: '/k',
      announce: true,
      dataplane: DEFAULT_DATAPLANE_SETTINGS,
    });
  });

  it('takes the return path: tunnel by default, podNetwork, and refuses anything else', () => {
    expect(parseAgentConfig(['--node-name', 'x'], {}).dataplane.returnPath).toBe('tunnel');
    const c = parseAgentConfig(['--node-name', 'x', '--return-path', 'podNetwork'], {});
    expect(c.dataplane.returnPath).toBe('podNetwork');
    expect(() => parseAgentConfig(['--node-name', 'x', '--return-path', 'vpc'], {})).toThrow(
      /--return-path: "vpc" is not one of tunnel, podNetwork/,
    );
  });

  it('takes datapath constants, and flags win over the environment', () => {
    const c = parseAgentConfig(
      [
        '--node-name',
        'x',
        '--mark-mask',
        '0x3ff0',
        '--vxlan-port',
        '5000',
        '--no-announce',
        '--health-port',
        '0',
      ],
      { NODE_NAME: 'y' },
    );
    expect(c.nodeName).toBe('x');
    expect(c.dataplane.markMask).toBe(0x3ff0);
    expect(c.dataplane.port).toBe(5000);
    expect(c.announce).toBe(false);
    expect(c.healthPort).toBe(0);
  });

  it('discovers cluster CIDRs unless --no-cluster-cidr-discovery', () => {
    const env = { NODE_NAME: 'n' };
    expect(parseAgentConfig(['--no-cluster-cidr-discovery'], env)).toMatchObject({
      clusterCidrs: [],
      discoverClusterCidrs: false,
    });
  });

  it('needs no node name for --cleanup', () => {
    expect(parseAgentConfig(['--cleanup'], {}).cleanup).toBe(true);
  });

  it.each([
    [[], /--node-name \(or NODE_NAME\) is required/],
    [['--node-name', 'a', '--cluster-cidr', '10.0.0.1'], /--cluster-cidr: "10.0.0.1" is not a CIDR/],
    [['--node-name', 'a', '--node-ip', 'fd00::1'], /--node-ip: "fd00::1" is not an IPv4 address/],
    [['--node-name', 'a', '--mark-mask', '0x0f0f'], /--mark-mask: must be one contiguous run of bits/],
    [['--node-name', 'a', '--mark-mask', '0x10000'], /--mark-mask: "0x10000" is not an integer in 1..65535/],
    [['--node-name', 'a', '--health-port', 'http'], /--health-port: "http" is not an integer/],
    [['--node-name', 'a', '--log-level', 'loud'], /--log-level: "loud" is not one of/],
    [['--node-name', 'a', '--bogus'], /Unknown option '--bogus'/],
  ])('rejects %j with a clear message', (args, message) => {
    expect(() => parseAgentConfig(args, {})).toThrow(AgentConfigError);
    expect(() => parseAgentConfig(args, {})).toThrow(message);
  });

  it('answers --help with the usage text', () => {
    expect(() => parseAgentConfig(['--help'], {})).toThrow(AgentHelpRequested);
  });
  it('takes the proc-sys mount and a dedicated egress interface, and refuses bad ones', () => {
    const env = { NODE_NAME: 'n' };
    expect(parseAgentConfig([], env)).toMatchObject({
      procSys: '/proc/sys',
      egressIface: undefined,
      egressGateway: undefined,
    });
    expect(
      parseAgentConfig(
        ['--proc-sys=/host/proc/sys/', '--egress-interface', 'ens6', '--egress-gateway', '10.0.2.1'],
        env,
      ),
    ).toMatchObject({ procSys: '/host/proc/sys', egressIface: 'ens6', egressGateway: '10.0.2.1' });
    expect(() => parseAgentConfig(['--proc-sys', 'host/proc/sys'], env)).toThrow(/--proc-sys: .*absolute/);
    expect(() => parseAgentConfig(['--egress-gateway', '10.0.2'], env)).toThrow(/--egress-gateway: .*IPv4/);
    expect(() => parseAgentConfig(['--egress-interface', 'a b'], env)).toThrow(
      /--egress-interface: .*device/,
    );
  });
});
