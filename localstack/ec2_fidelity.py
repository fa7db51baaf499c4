"""EC2 fidelity patches for LocalStack 4.14.0 (whose EC2 is moto).

Each patch makes one call behave as the Amazon EC2 API Reference documents it; localstack/README.md lists
them and test/aws/fidelity.test.ts proves each is needed (it fails against unpatched LocalStack).

1. AssignPrivateIpAddresses honours AllowReassignment
   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssignPrivateIpAddresses.html):
   with it, an address held by another network interface moves here (and an Elastic IP associated with it
   moves too); without it, an address in use elsewhere fails with InvalidIPAddress.InUse
   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html). Addresses outside the
   subnet fail with InvalidParameterValue. SecondaryPrivateIpAddressCount picks free addresses of the subnet
   (never the first four or the last, which AWS reserves), and the response lists only the new addresses.
2. DescribeNetworkInterfaces filters `addresses.private-ip-address` and `private-ip-address` match every
   private IPv4 address of the interface, secondary ones included
   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html).
3. AssociateAddress honours PrivateIpAddress
   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssociateAddress.html): the Elastic IP is
   associated with that (possibly secondary) private address, DescribeAddresses reports it, and unassigning
   the private address disassociates the Elastic IP.
4. The per-interface IPv4 limit of the instance type (`Ipv4AddressesPerInterface`,
   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/AvailableIpPerENI.html) is enforced:
   AssignPrivateIpAddresses past it fails with PrivateIpAddressLimitExceeded.
6. The addresses AWS reserves in every subnet, the first four and the last
   (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html), are refused when asked for by name,
   as they already are never picked: AssignPrivateIpAddresses fails with InvalidParameterValue (the code EC2
   uses for an address it will not assign, as for one outside the subnet; the message is modelled).
5. Address changes are atomic: LocalStack serves requests on many threads, and moto neither serialises an
   assignment against another (two callers taking one address could both keep it) nor snapshots what
   DescribeNetworkInterfaces returns (the answer is serialised after the handler returns, so an address moving
   meanwhile showed on both interfaces). Assign and unassign run under one lock, and DescribeNetworkInterfaces
   answers with copies taken under it, so every answer shows each address on one interface, as EC2 does.
"""

import copy
import fnmatch
import ipaddress
import threading

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ec2.responses import elastic_ip_addresses as eip_responses
from moto.ec2.responses.elastic_ip_addresses import ElasticIPAddresses
from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces

_applied = False
# Held by every change of an interface's addresses and by the snapshot a describe answers with.
_addresses_lock = threading.RLock()


def _ips(eni):
    return [a.get("PrivateIpAddress") for a in eni.private_ip_addresses]


def _vpc_of(eni):
    return getattr(eni.subnet, "vpc_id", None)


def _holder(backend, ip, exclude):
    """The other ENI of the same VPC holding `ip` (private IPs are unique within a VPC, not across VPCs)."""
    vpc = _vpc_of(exclude)
    for eni in backend.enis.values():
        if eni is not exclude and _vpc_of(eni) == vpc and ip in _ips(eni):
            return eni
    return None


def _ipv4_limit(eni):
    instance = eni.instance
    if instance is None:
        return None
    info = INSTANCE_TYPES.get(instance.instance_type)
    if not info:
        return None
    return info.get("NetworkInfo", {}).get("Ipv4AddressesPerInterface")


def _eips_on(backend, eni, ip):
    return [a for a in backend.addresses if a.eni is eni and getattr(a, "cloud_egress_private_ip", None) == ip]


def _free_ips(backend, eni, count):
    """The first `count` addresses of the subnet no interface holds (AWS reserves the first four and the last)."""
    net = ipaddress.ip_network(eni.subnet.cidr_block)
    used = set()
    for other in backend.enis.values():
        if _vpc_of(other) == _vpc_of(eni):
            used.update(_ips(other))
    hosts = list(net.hosts())[3:]  # .0 is not a host; .1-.3 are reserved
    picked = []
    for host in hosts:
        text = str(host)
        if text not in used:
            picked.append(text)
            if len(picked) == count:
                return picked
    raise EC2ClientError(
        "InsufficientFreeAddressesInSubnet",
        f"The specified subnet {eni.subnet.id} does not have enough free addresses to satisfy the request.",
    )


def _reserved(net, ip):
    """True for the first four and the last address of `net`, which AWS keeps for itself."""
    offset = int(ipaddress.ip_address(ip)) - int(net.network_address)
    return offset < 4 or offset == net.num_addresses - 1


def assign_private_ip_addresses(self, eni_id, private_ip_addresses=None, secondary_ips_count=None, allow_reassignment=False):
    with _addresses_lock:
        return _assign(self, eni_id, private_ip_addresses, secondary_ips_count, allow_reassignment)


def _assign(self, eni_id, private_ip_addresses, secondary_ips_count, allow_reassignment):
    eni = self.get_network_interface(eni_id)
    current = _ips(eni)
    wanted = []
    for ip in private_ip_addresses or []:
        if ip not in current and ip not in wanted:
            wanted.append(ip)
    net = ipaddress.ip_network(eni.subnet.cidr_block)
    for ip in wanted:
        try:
            inside = ipaddress.ip_address(ip) in net
        except ValueError:
            inside = False
        if not inside:
            raise EC2ClientError(
                "InvalidParameterValue",
                f"Address {ip} does not fall within the subnet's address range",
            )
    moves = []
    for ip in wanted:
        if _reserved(net, ip):
            raise EC2ClientError(
                "InvalidParameterValue",
                f"Address {ip} is reserved by AWS in subnet {eni.subnet.cidr_block} (the first four and the last addresses)",
            )
    for ip in wanted:
        holder = _holder(self, ip, eni)
        if holder is None:
            continue
        if holder.private_ip_address == ip or not allow_reassignment:
            raise EC2ClientError("InvalidIPAddress.InUse", f"Address {ip} is in use.")
        moves.append((holder, ip))
    count = int(secondary_ips_count or 0)
    limit = _ipv4_limit(eni)
    if limit is not None and len(current) + len(wanted) + count > limit:
        raise EC2ClientError(
            "PrivateIpAddressLimitExceeded",
            f"Number of private addresses will exceed limit of {limit} for network interface {eni.id}.",
        )
    new = list(wanted) + (_free_ips(self, eni, count) if count else [])
    for holder, ip in moves:
        holder.private_ip_addresses = [a for a in holder.private_ip_addresses if a.get("PrivateIpAddress") != ip]
        for eip in _eips_on(self, holder, ip):
            eip.eni = eni
            eip.instance = eni.instance
    eni.private_ip_addresses.extend({"Primary": False, "PrivateIpAddress": ip} for ip in new)
    eni.cloud_egress_last_assigned = new
    return eni


_original_unassign = NetworkInterfaceBackend.unassign_private_ip_addresses


def unassign_private_ip_addresses(self, eni_id, private_ip_address=None):
    with _addresses_lock:
        return _unassign(self, eni_id, private_ip_address)


def _unassign(self, eni_id, private_ip_address):
    eni = self.get_network_interface(eni_id)
    for ip in private_ip_address or []:
        for eip in _eips_on(self, eni, ip):
            if eni.public_ip == eip.public_ip:
                eni.public_ip = None
            eip.eni = None
            eip.association_id = None
            eip.instance = None
            eip.cloud_egress_private_ip = None
    return _original_unassign(self, eni_id, private_ip_address)


def assign_private_ip_addresses_response(self):
    eni_id = self._get_param("NetworkInterfaceId")
    count = self._get_int_param("SecondaryPrivateIpAddressCount", 0)
    ips = self._get_param("PrivateIpAddresses", [])
    allow = self._get_bool_param("AllowReassignment", False)
    self.error_on_dryrun()
    eni = self.ec2_backend.assign_private_ip_addresses(eni_id, ips, count, allow_reassignment=allow)
    return ActionResult(
        {
            "NetworkInterfaceId": eni.id,
            "AssignedPrivateIpAddresses": [{"PrivateIpAddress": ip} for ip in eni.cloud_egress_last_assigned],
        }
    )


_IP_FILTERS = ("addresses.private-ip-address", "private-ip-address")
_original_get_all = NetworkInterfaceBackend.get_all_network_interfaces


def describe_network_interfaces_response(self):
    eni_ids = self._get_param("NetworkInterfaceIds", [])
    filters = self._filters_from_querystring()
    self.error_on_dryrun()
    with _addresses_lock:
        enis = [_snapshot(eni) for eni in self.ec2_backend.get_all_network_interfaces(eni_ids, filters)]
    return ActionResult({"NetworkInterfaces": enis})


def _snapshot(eni):
    """A copy of `eni` whose address list no later change touches (the answer is serialised after the lock)."""
    frozen = copy.copy(eni)
    frozen.private_ip_addresses = [dict(a) for a in eni.private_ip_addresses]
    return frozen


def get_all_network_interfaces(self, eni_ids=None, filters=None):
    filters = dict(filters or {})
    ip_filters = [filters.pop(name) for name in _IP_FILTERS if name in filters]
    enis = _original_get_all(self, eni_ids, filters)
    for values in ip_filters:
        values = values if isinstance(values, list) else [values]
        enis = [e for e in enis if any(fnmatch.fnmatch(ip, pattern) for ip in _ips(e) for pattern in values)]
    return enis


_original_associate_response = ElasticIPAddresses.associate_address


def associate_address_response(self):
    private_ip = self._get_param("PrivateIpAddress")
    eni_id = self._get_param("NetworkInterfaceId")
    allocation_id = self._get_param("AllocationId")
    public_ip = self._get_param("PublicIp")
    reassociate = self._get_bool_param("AllowReassociation", False)
    eni = self.ec2_backend.get_network_interface(eni_id) if eni_id else None
    if private_ip and eni is not None:
        if private_ip not in _ips(eni):
            raise EC2ClientError(
                "InvalidParameterValue",
                f"Value ({private_ip}) for parameter privateIpAddress is invalid. "
                f"The address is not assigned to network interface {eni.id}.",
            )
        for other in _eips_on(self.ec2_backend, eni, private_ip):
            if other.allocation_id == allocation_id or other.public_ip == public_ip:
                continue
            if not reassociate:
                raise EC2ClientError(
                    "Resource.AlreadyAssociated",
                    f"Private address {private_ip} is already associated with {other.public_ip}.",
                )
            other.eni = None
            other.instance = None
            other.association_id = None
            other.cloud_egress_private_ip = None
    result = _original_associate_response(self)
    if eni is not None:
        eips = (
            self.ec2_backend.address_by_allocation([allocation_id])
            if allocation_id
            else self.ec2_backend.address_by_ip([public_ip])
        )
        eips[0].cloud_egress_private_ip = private_ip or None
    return result


_original_eip_filter = ElasticAddress.get_filter_value


def eip_get_filter_value(self, filter_name, method_name=None):
    if filter_name == "private-ip-address" and self.eni is not None:
        return getattr(self, "cloud_egress_private_ip", None) or self.eni.private_ip_address
    return _original_eip_filter(self, filter_name, method_name)


def apply():
    """Applies every patch once."""
    global _applied
    if _applied:
        return
    _applied = True
    NetworkInterfaceBackend.assign_private_ip_addresses = assign_private_ip_addresses
    NetworkInterfaceBackend.unassign_private_ip_addresses = unassign_private_ip_addresses
    NetworkInterfaceBackend.get_all_network_interfaces = get_all_network_interfaces
    ElasticNetworkInterfaces.assign_private_ip_addresses = assign_private_ip_addresses_response
    ElasticNetworkInterfaces.describe_network_interfaces = describe_network_interfaces_response
    ElasticIPAddresses.associate_address = associate_address_response
    ElasticAddress.cloud_egress_private_ip = None
    ElasticAddress.get_filter_value = eip_get_filter_value
    eip_responses.DESCRIBE_ADDRESS_RESPONSE = eip_responses.DESCRIBE_ADDRESS_RESPONSE.replace(
        "{{ address.eni.private_ip_address }}",
        "{{ address.cloud_egress_private_ip or address.eni.private_ip_address }}",
    )
