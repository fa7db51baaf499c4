"""LocalStack init hook (ready stage) that loads cloud-egress's EC2 fidelity patches in the official Docker image.

Mounted as /etc/localstack/init/ready.d/cloud-egress.py, with ec2_fidelity.py mounted into /opt/cloud-egress
(see localstack/README.md). LocalStack runs *.py init scripts inside its own process, so the patches apply to
the running EC2 provider.
"""

import sys

sys.path.insert(0, "/opt/cloud-egress")

import ec2_fidelity  # noqa: E402

ec2_fidelity.apply()
print("cloud-egress: EC2 fidelity patches applied")
