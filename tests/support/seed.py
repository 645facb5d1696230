"""The two documents of the use case tctl was built for, verbatim: the East-West gateway and the
WorkspaceSetting exposing details and reviews. Tests of every tier start from them."""

SEED_INGRESS_GATEWAY = """\
apiVersion: install.tetrate.io/v1alpha1
kind: IngressGateway
metadata:
  name: eastwest-gateway
  namespace: bookinfo
spec:
  eastWestOnly: true
"""

SEED_WORKSPACE_SETTING = """\
apiVersion: api.tsb.tetrate.io/v2
kind: WorkspaceSetting
metadata:
  name: bookinfo-ws-settings
  workspace: bookinfo-ws
  tenant: tse
  organization: tse
spec:
  defaultSecuritySetting:
    authenticationSettings:
      trafficMode: REQUIRED
    authorization:
      mode: WORKSPACE
  defaultEastWestGatewaySettings:
    - workloadSelector:
        namespace: bookinfo
        labels:
          app: eastwest-gateway
      exposedServices:
        - serviceLabels:
            app: details
        - serviceLabels:
            app: reviews
"""

# The workspace the setting belongs to, spanning bookinfo in every cluster as failover needs.
SEED_WORKSPACE = """\
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata:
  name: bookinfo-ws
  tenant: tse
  organization: tse
spec:
  namespaceSelector:
    names:
      - "*/bookinfo"
"""
