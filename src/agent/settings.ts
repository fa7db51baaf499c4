/**
 * @module
 * Fixed parameters of the datapath, the same on every node of a cluster (the Helm chart sets them once).
 * Defaults are chosen to stay clear of common CNIs: VXLAN port 4796 (not 4789/8472 used by Calico, Flannel
 * and Cilium), mark bits `0x3fff` (not kube-proxy's `0x4000`/`0x8000`, not Calico's upper 16 bits), route
 * tables from `0x63650000` up.
 */
import { DEFAULT_RETURN_PATH, type ReturnPath } from '../kube/return-path.ts';

/** Datapath parameters shared by all nodes. */
export interface DataplaneSettings {
  /** The agent's nftables table (family inet). */
  readonly nftTable: string;
  /** Name of the VXLAN device. */
  readonly tunnelName: string;
  /** VXLAN network identifier. */
  readonly vni: number;
  /** VXLAN UDP port. */
  readonly port: number;
  /** Link-scoped `/32` on the tunnel device; loose reverse-path filtering needs an address there. */
  readonly tunnelAddress: string;
  /** Packet-mark bits the agent uses; must be contiguous and inside `0xffff` (VXLAN-GBP carries 16 bits). */
  readonly markMask: number;
  /** Route table of mark id `n` is `tableBase + n`. */
  readonly tableBase: number;
  /**
   * Priority of the agent's `ip rule`s (before `main` at 32766 and the AWS VPC CNI's 1536); the return path's
   * rule takes the next one.
   */
  readonly rulePriority: number;
  /** Route/rule protocol number that tags what the agent adds. */
  readonly routeProtocol: number;
  /** Bytes VXLAN over IPv4 adds: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
  readonly tunnelOverhead: number;
  /** How replies to tunnelled pods return; the same on every node. */
  readonly returnPath: ReturnPath;
  /**
   * Connection-mark bits of the source node's id on a gateway (return path `tunnel`), and the packet-mark bits
   * that carry it from prerouting to the tunnel device there. Outside `markMask` and outside the 16 bits VXLAN-GBP
   * carries.
   */
  readonly nodeIdMask: number;
  /** Next hop of the return route into the tunnel (a permanent neighbour whose MAC the egress hook rewrites). */
  readonly returnHop: string;
}

/** The defaults. */
export const DEFAULT_DATAPLANE_SETTINGS: DataplaneSettings = {
  nftTable: 'cloud_egress',
  tunnelName: 'cegress0',
  vni: 4207,
  port: 4796,
  tunnelAddress: '169.254.206.1/32',
  markMask: 0x3fff,
  tableBase: 0x63650000,
  rulePriority: 1000,
  routeProtocol: 206,
  tunnelOverhead: 50,
  returnPath: DEFAULT_RETURN_PATH,
  nodeIdMask: 0x3fff0000,
  returnHop: '169.254.206.2',
};

/**
 * The mark id reserved for replies routed into the tunnel (return path `tunnel`): the largest id, whose value is
 * the whole mask. Egress IPs never get it.
 */
export function returnMarkId(mask: number): number {
  return maxMarkId(mask);
}

/** Lowest set bit position of a mask. */
export function maskShift(mask: number): number {
  let shift = 0;
  while (shift < 16 && ((mask >>> shift) & 1) === 0) shift++;
  return shift;
}

/** Lowest set bit position of a 32-bit mask. */
function maskShift32(mask: number): number {
  let shift = 0;
  while (shift < 32 && ((mask >>> shift) & 1) === 0) shift++;
  return shift;
}

/** Largest mark id the mask holds. */
export function maxMarkId(mask: number): number {
  return mask >>> maskShift(mask);
}

/** Largest id a 32-bit mask (e.g. `nodeIdMask`) holds, and the value of id `n` in it. */
export function maskIds(mask: number): { readonly max: number; readonly value: (n: number) => number } {
  const shift = maskShift32(mask);
  return { max: mask >>> shift, value: (n) => (n << shift) >>> 0 };
}

/** The mark value (inside the mask) of id `n`. */
export function markValue(id: number, mask: number): number {
  return (id << maskShift(mask)) >>> 0;
}

/** Checks a mark mask: non-zero, contiguous, inside 16 bits. */
export function validateMarkMask(mask: number): string | undefined {
  if (!Number.isInteger(mask) || mask <= 0 || mask > 0xffff) return 'must be a non-zero value inside 0xffff';
  const ids = maxMarkId(mask);
  if ((ids & (ids + 1)) !== 0) return 'must be one contiguous run of bits';
  return undefined;
}
