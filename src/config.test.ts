import { describe, expect, it } from 'vitest';
import { CONTROLLER_HELP, ConfigError, parseConfig, parseDuration } from './config.ts';

describe('parseConfig', () => {
  it('refuses a test-only provider without --test-providers, naming the flag', () => {
    expect(() => parseConfig(['controller', '--provider', 'inmemory'], {})).toThrow(
      /--provider: "inmemory" is for tests only .*--test-providers/,
    );
    const config = parseConfig(['controller'], {});
    if (config.command === 'controller') expect(config.controller.settings.testProviders).toBe(false);
  });

  it('parses the controller flags, with env fallbacks and documented defaults', () => {
    const config = parseConfig(
      [
        'controller',
        '--provider',
        'inmemory',
        '--test-providers',
        '--probe-interval',
        '100ms',
        '--probe-damping',
        '2s',
        '--region',
        'eu-west-1',
      ],
      { KUBECONFIG: '/tmp/kc', POD_NAME: 'pod-1', POD_NAMESPACE: 'egress', CLOUD_EGRESS_OWNER: 'cluster-a' },
    );
    expect(config.command).toBe('controller');
    if (config.command !== 'controller') return;
    const c = config.controller;
    expect(c.kube).toEqual({ kind: 'file', path: '/tmp/kc' });
    expect(c.identity).toBe('pod-1');
    expect(c.settings.provider).toBe('inmemory');
    expect(c.settings.testProviders).toBe(true);
    expect(c.settings.providerSettings).toEqual({ owner: 'cluster-a', region: 'eu-west-1' });
    expect(c.settings.probe).toEqual({
      intervalMs: 100,
      misses: 3,
      dampingMs: 2000,
      agentHealthPort: 9796,
      restartGraceMs: 30_000,
    });
    expect(c.settings).not.toHaveProperty('agentPods');
    expect(c.settings.leaderElection).toMatchObject({
      enabled: true,
      namespace: 'egress',
      leaseDurationMs: 4000,
      renewDeadlineMs: 3000,
      retryPeriodMs: 500,
      releaseOnCancel: true,
    });
    expect(Object.isFrozen(c.settings.probe)).toBe(true);
  });

  it('takes --probe-timeout apart from the interval; without it the prober uses the interval', () => {
    const probe = (argv: string[]) => {
      const config = parseConfig(['controller', '--probe-interval', '100ms', ...argv], {});
      return config.command === 'controller' ? config.controller.settings.probe : undefined;
    };
    expect(probe(['--probe-timeout', '1s'])).toMatchObject({ intervalMs: 100, timeoutMs: 1000 });
    expect(probe([])).not.toHaveProperty('timeoutMs');
  });

  it('takes the agent Pods from --agent-pod-selector, in POD_NAMESPACE unless --agent-pod-namespace', () => {
    const settings = (argv: string[]) => {
      const config = parseConfig(['controller', ...argv], { POD_NAMESPACE: 'egress' });
      return config.command === 'controller' ? config.controller.settings : undefined;
    };
    const selector = 'app.kubernetes.io/name=cloud-egress,app.kubernetes.io/component=agent';
    expect(settings(['--agent-pod-selector', selector])?.agentPods).toEqual({
      namespace: 'egress',
      labelSelector: selector,
    });
    expect(
      settings(['--agent-pod-selector', 'app=agent', '--agent-pod-namespace', 'kube-system'])?.agentPods,
    ).toEqual({ namespace: 'kube-system', labelSelector: 'app=agent' });
    expect(settings(['--agent-restart-grace', '0'])?.probe.restartGraceMs).toBe(0);
  });

  it('parses doctor: its gateway, provider and settings, and refuses unknown flags', () => {
    const config = parseConfig(
      ['doctor', '--kubeconfig', '/k', '--gateway', 'prod', '--provider', 'azure', '--owner', 'o'],
      {},
    );
    expect(config).toEqual({
      command: 'doctor',
      doctor: {
        kube: { kind: 'file', path: '/k' },
        provider: 'azure',
        providerSettings: { owner: 'o' },
        gateway: 'prod',
        agentReturnPath: 'tunnel',
        agentClusterCidrDiscovery: true,
        logLevel: 'warn',
      },
    });
    expect(parseConfig(['doctor', '--help'], {})).toMatchObject({ command: 'help' });
    expect(() => parseConfig(['doctor', '--bogus'], {})).toThrow(/bogus/);
    expect(() => parseConfig(['doctor', '--provider', 'nope'], {})).toThrow(/--provider/);
  });

  it('takes --agent-no-cluster-cidr-discovery for the controller and the doctor; discovery is on by default', () => {
    for (const command of ['controller', 'doctor'] as const) {
      const discovery = (flags: string[]) => {
        const config = parseConfig([command, ...flags], {});
        if (config.command === 'controller') return config.controller.settings.agentClusterCidrDiscovery;
        if (config.command === 'doctor') return config.doctor.agentClusterCidrDiscovery;
        throw new Error(`parsed as ${config.command}`);
      };
      expect(discovery([])).toBe(true);
      expect(discovery(['--agent-no-cluster-cidr-discovery'])).toBe(false);
    }
  });

  it("takes --agent-return-path for the controller and the doctor, by default the agent's, and refuses what the agent refuses", () => {
    const agentDefault = parseConfig(['agent', '--node-name', 'n'], {});
    expect(agentDefault.command === 'agent' && agentDefault.agent.dataplane.returnPath).toBe('tunnel');
    const controller = parseConfig(['controller'], {});
    const doctor = parseConfig(['doctor'], {});
    expect(controller.command === 'controller' && controller.controller.settings.agentReturnPath).toBe(
      'tunnel',
    );
    expect(doctor.command === 'doctor' && doctor.doctor.agentReturnPath).toBe('tunnel');
    const set = parseConfig(['controller', '--agent-return-path', 'podNetwork'], {});
    expect(set.command === 'controller' && set.controller.settings.agentReturnPath).toBe('podNetwork');
    const doctorSet = parseConfig(['doctor', '--agent-return-path=podNetwork'], {});
    expect(doctorSet.command === 'doctor' && doctorSet.doctor.agentReturnPath).toBe('podNetwork');
    for (const command of ['controller', 'doctor']) {
      const run = () => parseConfig([command, '--agent-return-path', 'vpc'], {});
      expect(run).toThrow(ConfigError);
      expect(run).toThrow('--agent-return-path: "vpc" is not one of tunnel, podNetwork');
    }
    expect(() => parseConfig(['agent', '--node-name', 'n', '--return-path', 'vpc'], {})).toThrow(
      '"vpc" is not one of tunnel, podNetwork',
    );
  });

  it('takes repeatable or comma-separated --cluster-cidr for the controller and the doctor, as the agent does', () => {
    const argv = ['--cluster-cidr', '10.0.0.0/16', '--cluster-cidr=172.20.0.0/16, fd00::/108'];
    const controller = parseConfig(['controller', ...argv], {});
    const agent = parseConfig(['agent', '--node-name', 'n', ...argv], {});
    const doctor = parseConfig(['doctor', ...argv], {});
    const typed = ['10.0.0.0/16', '172.20.0.0/16', 'fd00::/108'];
    expect(controller.command === 'controller' && controller.controller.settings.clusterCidrs).toEqual(typed);
    expect(agent.command === 'agent' && agent.agent.clusterCidrs).toEqual(typed);
    expect(doctor.command === 'doctor' && doctor.doctor.clusterCidrs).toEqual(typed);
    const none = parseConfig(['controller'], {});
    expect(none.command === 'controller' && none.controller.settings).not.toHaveProperty('clusterCidrs');
  });

  it.each([['controller'], ['doctor'], ['agent', '--node-name', 'n']])(
    "%s refuses a --cluster-cidr that is not a CIDR, with the agent's words",
    (...command) => {
      const run = () => parseConfig([...command, '--cluster-cidr', '10.0.0.0/16,10.96.0.1'], {});
      expect(run).toThrow(ConfigError);
      expect(run).toThrow('--cluster-cidr: "10.96.0.1" is not a CIDR (e.g. 10.244.0.0/16)');
    },
  );

  it('takes --preflight-interval', () => {
    const config = parseConfig(['controller', '--preflight-interval', '2m'], {});
    expect(config.command === 'controller' && config.controller.settings.preflightIntervalMs).toBe(120_000);
  });

  it('uses the in-cluster service account inside a pod', () => {
    const config = parseConfig(['controller'], { KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    expect(config.command === 'controller' && config.controller.kube).toEqual({ kind: 'in-cluster' });
  });

  it.each([
    [['controller', '--provider', 'openstack'], /--provider: "openstack" is not one of auto, aws/],
    [['controller', '--probe-misses', '0'], /--probe-misses: "0" is not an integer from 1/],
    [['controller', '--probe-interval', 'fast'], /--probe-interval: "fast" is not a duration/],
    [['controller', '--probe-timeout', 'soon'], /--probe-timeout: "soon" is not a duration/],
    [['controller', '--probe-timeout', '0'], /--probe-timeout: must be more than 0/],
    [
      ['controller', '--agent-pod-selector', 'app in (agent)'],
      /--agent-pod-selector: "app in \(agent\)" is not/,
    ],
    [
      ['controller', '--agent-pod-selector', 'app=agent,'],
      /--agent-pod-selector: "" is not a label selector/,
    ],
    [['controller', '--agent-restart-grace', 'long'], /--agent-restart-grace: "long" is not a duration/],
    [['controller', '--lease-duration', '2s'], /lease duration > renew deadline/],
    [['controller', '--interface-tag', 'novalue'], /KEY=VALUE/],
    [['controller', '--bogus'], /Unknown option '--bogus'/],
    [['launch'], /unknown command "launch"/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(ConfigError);
    expect(() => parseConfig(argv, {})).toThrow(message);
  });

  it('prints help', () => {
    expect(parseConfig(['controller', '--help'], {})).toEqual({ command: 'help', text: CONTROLLER_HELP });
    expect(parseConfig([], {}).command).toBe('help');
  });

  it('hands the agent command to the agent configuration', () => {
    const config = parseConfig(['agent', '--node-name', 'n1'], { NODE_IP: '10.0.0.5' });
    expect(config.command).toBe('agent');
    if (config.command === 'agent')
      expect(config.agent).toMatchObject({ nodeName: 'n1', nodeIp: '10.0.0.5', healthPort: 9796 });
    expect(() => parseConfig(['agent'], {})).toThrow(ConfigError);
    expect(parseConfig(['agent', '--help'], {}).command).toBe('help');
  });

  it('parses durations', () => {
    expect(['250ms', '3s', '1.5s', '1m', '42'].map((d) => parseDuration(d, '--x'))).toEqual([
      250, 3000, 1500, 60000, 42,
    ]);
  });
});
