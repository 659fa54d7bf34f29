// The joining node as EC2 knows it: an instance of the built image launched in the emulator, so that
// bootstrap.sh's DescribeInstances finds its PrivateDnsName, and the identity the node's IMDS stand-in serves.
// The node IP is the VM's own address (qemu's user network gives it 10.0.2.15), not the emulator's invented one:
// it is where the kubelet and the pods really are.
import { DescribeInstancesCommand, RunInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { InstanceIdentity } from '../imds.ts';

/** The VM's address on qemu's user network (its DHCP hands out .15 first). */
export const NODE_VM_ADDRESS = '10.0.2.15';

export interface LaunchedNode {
  identity: InstanceIdentity;
  /** The name the node registers under: the instance's PrivateDnsName. */
  nodeName: string;
}

export async function launchNodeInstance(
  ec2: EC2Client,
  input: { amiId: string; region: string; dnsSuffix: string; instanceType?: string },
): Promise<LaunchedNode> {
  const instanceType = input.instanceType ?? 'm5.large';
  const out = await ec2.send(new RunInstancesCommand({ ImageId: input.amiId, InstanceType: instanceType as never, MinCount: 1, MaxCount: 1 }));
  const launched = out.Instances?.[0]?.InstanceId;
  if (!launched) throw new Error(`the emulator launched no instance of ${input.amiId}`);
  // The name as DescribeInstances reports it: what bootstrap.sh reads (the emulator's RunInstances answer may differ).
  const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [launched] }));
  const instance = described.Reservations?.[0]?.Instances?.[0];
  if (!instance?.InstanceId || !instance.PrivateDnsName) throw new Error(`the emulator describes no private DNS name for ${launched}`);
  const availabilityZone = instance.Placement?.AvailabilityZone ?? `${input.region}a`;
  return {
    nodeName: instance.PrivateDnsName,
    identity: {
      instanceId: instance.InstanceId,
      instanceType,
      region: input.region,
      availabilityZone,
      localIpv4: NODE_VM_ADDRESS,
      localHostname: instance.PrivateDnsName,
      mac: (instance.NetworkInterfaces?.[0]?.MacAddress ?? '0e:00:00:00:00:01').toLowerCase(),
      domain: input.dnsSuffix,
      vpcCidr: '10.0.0.0/16',
    },
  };
}
