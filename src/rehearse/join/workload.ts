// What the rehearsal runs on the joined node: one pod serving HTTP and a ClusterIP Service in front of it. The pod
// is Kubernetes' own e2e test server (agnhost netexec, built from the same pinned source), which answers
// GET /hostname with the pod's name, so a reply through the Service proves which pod answered.
// There is no scheduler in the rehearsal's control plane: the pod names its node, as a DaemonSet's pods do.

export const WORKLOAD_NAMESPACE = 'default';
export const POD_NAME = 'rehearsal-web';
export const SERVICE_NAME = 'rehearsal-web';
export const POD_PORT = 8080;
export const SERVICE_PORT = 80;

export function podManifest(nodeName: string, image: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: POD_NAME, namespace: WORKLOAD_NAMESPACE, labels: { app: POD_NAME } },
    spec: {
      nodeName,
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'web',
          image,
          args: ['netexec', `--http-port=${POD_PORT}`],
          ports: [{ containerPort: POD_PORT, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/hostname', port: POD_PORT }, periodSeconds: 2 },
        },
      ],
    },
  };
}

export function serviceManifest(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE_NAME, namespace: WORKLOAD_NAMESPACE },
    spec: { type: 'ClusterIP', selector: { app: POD_NAME }, ports: [{ port: SERVICE_PORT, targetPort: POD_PORT, protocol: 'TCP' }] },
  };
}
