"""Starts LocalStack's runtime with cloud-egress's EC2 fidelity patches applied first.

The patches (ec2_fidelity.py) make moto's EC2 behave as the AWS API reference documents for the calls
cloud-egress makes. Set CLOUD_EGRESS_EC2_PATCHES=0 to run LocalStack unpatched (the tests that prove each
patch is needed do this).
"""

import os
import sys

if os.environ.get("CLOUD_EGRESS_EC2_PATCHES", "1") != "0":
    import ec2_fidelity

    ec2_fidelity.apply()
    sys.stdout.write("cloud-egress: EC2 fidelity patches applied\n")
else:
    sys.stdout.write("cloud-egress: EC2 fidelity patches OFF\n")
sys.stdout.flush()

from localstack.runtime.main import main  # noqa: E402

if __name__ == "__main__":
    main()
