#!/usr/bin/env python3
"""Signed S3 GetObject with the instance role, for a private binary bucket (mirror).

Usage: s3-get.py URL REGION DEST

URL is the object's path-style URL (https://s3.<region>.<domain>/<bucket>/<key>, or an endpoint override).
The request is signed (SigV4) with the temporary credentials of the instance profile, read from the
instance metadata service (IMDSv2; IMDS_ENDPOINT overrides its address). The build host's credentials never
reach the instance: only the role attached to it is used.

Why not the AWS CLI: this reads the AWS CLI installer itself from a private mirror, before the CLI exists.
Python is there on every RHEL image (dnf runs on it: platform-python on RHEL 8, python3 on RHEL 9). Written
for Python 3.6 (RHEL 8's platform-python): no f-string-only features beyond 3.6, no dataclasses.

Exit status: 0 the object was written to DEST; 2 usage; 3 no role credentials; 4 S3 refused (status and
S3 error code printed); 5 network failure after retries. DEST is written through DEST.part and renamed only
when the whole body arrived, so a failure never leaves a partial file at DEST.
"""
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
ATTEMPTS = 4


def fail(code, message):
    sys.stderr.write("s3-get: %s\n" % message)
    sys.exit(code)


def imds(path, token=None, method="GET", ttl=None):
    base = os.environ.get("IMDS_ENDPOINT") or "http://169.254.169.254"
    request = urllib.request.Request(base.rstrip("/") + path, method=method)
    if token:
        request.add_header("X-aws-ec2-metadata-token", token)
    if ttl:
        request.add_header("X-aws-ec2-metadata-token-ttl-seconds", str(ttl))
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode("utf-8")


def role_credentials():
    """The instance profile's temporary credentials (IMDSv2: a session token first)."""
    try:
        token = imds("/latest/api/token", method="PUT", ttl=300)
        roles = imds("/latest/meta-data/iam/security-credentials/", token=token).split()
        if not roles:
            fail(3, "the instance has no IAM role (instance profile); attach one that may read the bucket")
        data = json.loads(imds("/latest/meta-data/iam/security-credentials/" + roles[0], token=token))
    except (urllib.error.URLError, OSError, ValueError) as error:
        fail(3, "cannot read instance role credentials from the instance metadata service: %s" % error)
    if data.get("Code", "Success") != "Success" or not data.get("AccessKeyId"):
        fail(3, "the instance metadata service returned no usable credentials (Code=%s)" % data.get("Code"))
    return data["AccessKeyId"], data["SecretAccessKey"], data.get("Token", "")


def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def sign(method, url, region, credentials, now, extra_headers=None, payload_hash=UNSIGNED_PAYLOAD):
    """Request headers, Authorization included, for a SigV4-signed S3 request (extra_headers signed too)."""
    access_key, secret_key, session_token = credentials
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    # S3 canonical URIs are the path encoded once (RFC 3986 unreserved characters kept).
    canonical_uri = urllib.parse.quote(urllib.parse.unquote(parts.path) or "/", safe="/-_.~")
    query = sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    canonical_query = "&".join(
        "%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~")) for k, v in query
    )
    headers = {"host": parts.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    for name, value in (extra_headers or {}).items():
        headers[name.lower()] = value
    if session_token:
        headers["x-amz-security-token"] = session_token
    names = sorted(headers)
    canonical_headers = "".join("%s:%s\n" % (name, headers[name].strip()) for name in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join(
        [method, canonical_uri, canonical_query, canonical_headers, signed_headers, payload_hash]
    )
    scope = "%s/%s/s3/aws4_request" % (day, region)
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), day)
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key,
        scope,
        signed_headers,
        signature,
    )
    del headers["host"]  # urllib sets Host from the URL; the signed value is the same
    return headers


def s3_error_code(body):
    start, end = body.find(b"<Code>"), body.find(b"</Code>")
    return body[start + 6:end].decode("utf-8", "replace") if 0 <= start < end else "no error code"


def download(url, region, dest):
    credentials = role_credentials()
    partial = dest + ".part"
    for attempt in range(1, ATTEMPTS + 1):
        now = datetime.datetime.now(datetime.timezone.utc)
        request = urllib.request.Request(url, headers=sign("GET", url, region, credentials, now))
        try:
            with urllib.request.urlopen(request, timeout=60) as response, open(partial, "wb") as out:
                expected = response.headers.get("Content-Length")
                written = 0
                while True:
                    chunk = response.read(1024 * 1024)
                    if not chunk:
                        break
                    out.write(chunk)
                    written += len(chunk)
            if expected is not None and written != int(expected):
                raise OSError("truncated body (%d of %s bytes)" % (written, expected))
            os.rename(partial, dest)
            return
        except urllib.error.HTTPError as error:
            body = error.read()
            if error.code < 500 and error.code != 429:
                _remove(partial)
                fail(4, "%s: HTTP %d %s (signed with the instance role)" % (url, error.code, s3_error_code(body)))
            reason = "HTTP %d %s" % (error.code, s3_error_code(body))
        except (urllib.error.URLError, OSError) as error:
            reason = str(error)
        _remove(partial)
        if attempt == ATTEMPTS:
            fail(5, "%s: %s, after %d attempts" % (url, reason, ATTEMPTS))
        sys.stderr.write("s3-get: %s: %s; retrying\n" % (url, reason))
        time.sleep(2 ** attempt)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


if __name__ == "__main__":
    if len(sys.argv) != 4:
        fail(2, "usage: s3-get.py URL REGION DEST")
    download(sys.argv[1], sys.argv[2], sys.argv[3])
