"""Start moto_server with a workaround for moto 5.2.1's AMI catalog bug.

moto parses each catalog entry's creation_date in place, so the second region
that loads the catalog crashes on an already-parsed value. Loading from a deep
copy per region keeps the shared catalog pristine.
"""
import copy
import sys

import moto.ec2.models.amis as amis

_original_load = amis.AmiBackend._load_amis


def _load_from_copy(self):
    pristine = amis.AMIS
    amis.AMIS = copy.deepcopy(pristine)
    try:
        _original_load(self)
    finally:
        amis.AMIS = pristine


amis.AmiBackend._load_amis = _load_from_copy

from moto.server import main  # noqa: E402  (after the patch on purpose)

sys.exit(main(sys.argv[1:]))
