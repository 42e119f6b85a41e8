"""scanner/core/pool_flags.py against the AgentPool model of azure-mgmt-containerservice.

The SDK (pinned in requirements-dev.txt, the version azure-cli 2.91 ships) knows every property of
the agentPool API. A writable property the table neither maps to a flag nor lists as not carried
fails here, so a new API property cannot be dropped without a word.
"""

from __future__ import annotations

import pytest
from azure.mgmt.containerservice import models  # pinned in requirements-dev.txt: missing fails, never skips

from scanner.core import pool_flags


def _writable(cls) -> dict[str, object]:
    """rest name -> field, for the fields a client may send (visibility includes create or update)."""
    cls()  # the model base fills _attr_to_rest_field on first construction
    return {f._rest_name: f for f in cls._attr_to_rest_field.values()
            if set(f._visibility or ()) & {"create", "update"}}


def _model_properties() -> set[str]:
    """Every writable agentPool property, fields of the objects the table lists one by one as
    "object.field"."""
    top = _writable(models.ManagedClusterAgentPoolProfileProperties)
    out = set()
    for name in top:
        if name in pool_flags.OBJECTS:
            nested = {
                "upgradeSettings": models.AgentPoolUpgradeSettings, "networkProfile": models.AgentPoolNetworkProfile,
                "securityProfile": models.AgentPoolSecurityProfile, "gpuProfile": models.GPUProfile,
                "windowsProfile": models.AgentPoolWindowsProfile, "gatewayProfile": models.AgentPoolGatewayProfile,
                "artifactStreamingProfile": models.AgentPoolArtifactStreamingProfile,
                "virtualMachinesProfile": models.VirtualMachinesProfile, "creationData": models.CreationData,
                "powerState": models.PowerState,
            }[name]
            out |= {f"{name}.{sub}" for sub in _writable(nested)}
        else:
            out.add(name)
    return out


def test_every_writable_agentpool_property_is_mapped_or_listed():
    model = _model_properties()
    table = set(pool_flags.TABLE)
    missing = sorted(model - table)
    assert not missing, (f"agentPool properties neither mapped to an `az aks nodepool add` flag nor listed as not "
                         f"carried (add them to scanner/core/pool_flags.py): {missing}")
    stale = sorted(table - model)
    assert not stale, f"pool_flags lists properties the AgentPool model does not have: {stale}"


def test_the_model_is_read_with_every_object_the_table_splits():
    top = _writable(models.ManagedClusterAgentPoolProfileProperties)
    assert set(pool_flags.OBJECTS) <= set(top)


@pytest.mark.parametrize("carry", pool_flags.TABLE.values(), ids=pool_flags.TABLE.keys())
def test_each_row_says_how(carry):
    if carry.how == pool_flags.FLAG:
        assert carry.flag.startswith("--") and carry.render is not None
    elif carry.how == pool_flags.RULED:
        assert carry.flag.startswith("--")
    else:
        assert carry.why, f"{carry.prop}: a property not carried as is says why and what to do"


PROFILE = {
    "name": "apps", "count": 3, "vmSize": "Standard_DS2_v2", "provisioningState": "Succeeded",
    "currentOrchestratorVersion": "1.30.5", "eTag": "abc",
    "maxPods": 50, "nodeLabels": {"team": "a b", "kubernetes.azure.com/mode": "user"},
    "upgradeSettings": {"maxSurge": "33%", "drainTimeoutInMinutes": 45, "nodeSoakDurationInMinutes": 5},
    "securityProfile": {"enableSecureBoot": True, "enableVTPM": True, "sshAccess": "Disabled"},
    "networkProfile": {"allowedHostPorts": [{"portStart": 80, "portEnd": 80, "protocol": "TCP"},
                                            {"portStart": 8000, "portEnd": 8080, "protocol": "UDP"}],
                       "applicationSecurityGroups": ["/subscriptions/s/resourceGroups/r/providers/"
                                                     "Microsoft.Network/applicationSecurityGroups/asg1"],
                       "nodePublicIPTags": [{"ipTagType": "RoutingPreference", "tag": "Internet"}]},
    "kubeletConfig": {"cpuManagerPolicy": "static", "allowedUnsafeSysctls": ["kernel.msg*"]},
    "messageOfTheDay": "SGVsbG8gd29ybGQ=",
    "enableFIPS": True, "enableEncryptionAtHost": False, "kubeletDiskType": "Temporary",
    "someFutureProperty": {"x": 1}, "nodeTaints": None,
}


def test_a_profile_becomes_flags_files_and_reasons():
    props, unknown = pool_flags.read_properties(PROFILE)
    assert unknown == ("someFutureProperty",)
    assert "eTag" not in props and "provisioningState" not in props and "nodeTaints" not in props
    carried = pool_flags.add_args(props, "appsv5", skip=frozenset(p for p, c in pool_flags.TABLE.items()
                                                                 if c.how in (pool_flags.RULED, pool_flags.CHANGED)),
                                  unknown=unknown)
    args = list(carried.args)

    def after(flag, n=1):
        i = args.index(flag)
        return args[i + 1:i + 1 + n]

    assert after("--max-pods") == ["50"]
    assert after("--labels") == ["'team=a b'"]  # reserved label left to AKS
    assert after("--max-surge") == ["33%"] and after("--drain-timeout") == ["45"]
    assert after("--node-soak-duration") == ["5"]
    assert "--enable-secure-boot" in args and "--enable-vtpm" in args and "--enable-fips-image" in args
    assert "--enable-encryption-at-host" not in args  # false is the default
    assert after("--allowed-host-ports", 2) == ["80/tcp", "8000-8080/udp"]
    assert after("--node-public-ip-tags") == ["RoutingPreference=Internet"]
    assert after("--kubelet-config") == ["kubelet-config-appsv5.json"]
    assert after("--message-of-the-day") == ["motd-appsv5.txt"]
    files = dict(carried.files)
    assert files["motd-appsv5.txt"] == "Hello world"
    assert '"cpuManagerPolicy":"static"' in files["kubelet-config-appsv5.json"]
    assert [p for p, _ in carried.not_carried] == ["kubeletDiskType", "securityProfile.sshAccess"]
    assert all("printf" in c and ">" in c for c in carried.file_commands())


def test_readme_rows_cover_the_table():
    rows = pool_flags.rows()
    assert [r[0] for r in rows] == list(pool_flags.TABLE)


def test_readme_table_is_the_table():
    from tests.conftest import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("<!-- pool-flags-table")
    block = text[start:text.index("<!-- /pool-flags-table -->")].splitlines()[3:]
    got = [tuple(c.strip().strip("`") for c in line.strip("|").split(" | ")) for line in block if line.startswith("|")]
    want = [(prop, flag, how.replace("|", "/")) for prop, flag, how in pool_flags.rows()]
    assert got == want, "README 'what the rebuild keeps' table differs from scanner/core/pool_flags.py"


def test_an_inventory_row_carries_its_properties_into_the_model():
    """`az aks list` spells some keys its own way (enableFips, osDiskSizeGb): read all the same; a key
    this scanner does not know is named on the pool, not lost."""
    from scanner.sources.resource_graph import to_resources

    row = {"id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/"
                 "Microsoft.ContainerService/managedClusters/aks1",
           "name": "aks1", "type": "Microsoft.ContainerService/managedClusters", "location": "westeurope",
           "kubernetesVersion": "1.31.2",
           "agentPoolProfiles": [{"name": "apps", "vmSize": "Standard_D4s_v3", "count": 2, "enableFips": True,
                                  "osDiskSizeGb": 64, "upgradeSettings": {"maxSurge": "1", "drainTimeoutInMinutes": 30},
                                  "securityProfile": {"enableSecureBoot": True, "sshAccess": "LocalUser"},
                                  "brandNewSetting": {"on": True}, "provisioningState": "Succeeded"}]}
    [pool] = to_resources([row]).clusters[0].pools
    assert pool.properties["enableFIPS"] is True and pool.properties["osDiskSizeGB"] == 64
    assert pool.properties["upgradeSettings.maxSurge"] == "1"
    assert pool.properties["upgradeSettings.drainTimeoutInMinutes"] == 30
    assert pool.properties["securityProfile.enableSecureBoot"] is True
    assert "provisioningState" not in pool.properties
    assert pool.unknown_properties == ("brandNewSetting",)


def test_the_message_of_the_day_file_is_written_byte_for_byte():
    """Red team: `printf '%s\\n'` added a newline, so the new pool's message of the day (az base64-encodes
    the file as it is) was not the old one; non-ASCII text made `az` fail (it encodes the file as ASCII)."""
    import base64
    import subprocess

    plain = base64.b64encode(b"Welcome 'a' : \"b\" $HOME").decode()
    carried = pool_flags.add_args({"messageOfTheDay": plain}, "motdv5")
    [line] = carried.file_commands()
    out = subprocess.run(["bash", "-c", line.replace("> 'motd-motdv5.txt'", "").replace("> motd-motdv5.txt", "")],
                         capture_output=True, check=True).stdout
    assert base64.b64encode(out).decode() == plain

    accented = base64.b64encode("Grüß dich\n".encode()).decode()
    carried = pool_flags.add_args({"messageOfTheDay": accented}, "motdv5")
    assert "--message-of-the-day" not in carried.args and not carried.files
    [(prop, why)] = carried.not_carried
    assert prop == "messageOfTheDay" and "ASCII" in why and "az rest" in why
