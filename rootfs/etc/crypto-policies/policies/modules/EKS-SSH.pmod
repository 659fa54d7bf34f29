# Subpolicy for OpenSSH (client and server): AEAD and CTR AES ciphers, SHA-2 MACs only.
# Applied on top of the base policy: update-crypto-policies --set DEFAULT:EKS-SSH (or FIPS:EKS-SSH).
# RHEL 8 passes the result to sshd on its command line (CRYPTO_POLICY in sshd.service), RHEL 9
# includes it from sshd_config.d; both come from /etc/crypto-policies/back-ends/opensshserver.config.
cipher@SSH = AES-256-GCM AES-128-GCM AES-256-CTR AES-128-CTR
mac@SSH = HMAC-SHA2-512 HMAC-SHA2-256
