"""awsemu: a local emulator of the AWS APIs that iamkeys uses.

IAM and STS (awsQuery/XML), Secrets Manager, SSM and Organizations (JSON 1.1),
IAM Identity Center's portal (GetRoleCredentials) and OIDC (CreateToken) (REST-JSON,
unsigned, routed by path), with SigV4 verification (botocore's own signer), AWS-shaped errors, an emulated
clock, fault injection, rate limiting and a call log.  Test-control endpoints
live under /_emu/ (unsigned, loopback only).  See README.md next to this package.

Usage: python3 tests/emulator/awsemu --port 0 --state fixture.json [--latency-ms 25] [--port-file F]
                 [--report-delay S] [--propagation-delay S] [--rate-limit N]

Only the Python standard library and Debian's python3-botocore are used.

The package re-exports every name of its modules: the service modules next to it
(dynamodb_service.py, ...) get this module in register() and use its names and tables.
"""

import argparse  # noqa: F401  (the modules awsemu.py imported, for the service modules)
import base64  # noqa: F401
import bisect  # noqa: F401
import csv  # noqa: F401
import datetime  # noqa: F401
import email.utils  # noqa: F401
import fnmatch  # noqa: F401
import hashlib  # noqa: F401
import hmac  # noqa: F401
import io  # noqa: F401
import json  # noqa: F401
import os
import random  # noqa: F401
import re  # noqa: F401
import signal  # noqa: F401
import socket  # noqa: F401
import struct  # noqa: F401
import sys
import threading  # noqa: F401
import time  # noqa: F401
import uuid  # noqa: F401
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: F401
from urllib.parse import parse_qsl  # noqa: F401

# the services in their own files live in tests/emulator/, imported by their bare names
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import dynamodb_service  # noqa: E402  (DynamoDB, in its own file)
import cloudtrail_service  # noqa: E402  (CloudTrail LookupEvents)
import sns_service  # noqa: E402  (SNS, in its own file)
import ec2_service  # noqa: E402  (EC2 DescribeRegions)
import root_service  # noqa: E402  (AssumeRoot, ListOrganizationsFeatures)
import iampolicy_service  # noqa: E402  (user policies, GetSessionToken)

from .model import (  # noqa: E402,F401
    Account, amz_date, ApiError, B32, _b32_from, _boto, _boto_ready, BOTOCORE_DATA, _camel,
    Clock, CONTROL_HANDLERS, CONTROL_HOOKS, derived_id, derived_secret, epoch, gen_id,
    gen_secret, GLOBAL_REGION_SERVICES, Group, IAM_NS, _import_botocore, _is_account_id,
    iso_dump, iso_report, iso_z, json_message_key, JSON_TARGETS, JSON_VERSIONS, Key,
    KEYS_PER_USER, LOAD_HOOKS, LoadError, _models, _models_lock, MSG_BAD_SIGNATURE,
    MSG_EXPIRED_TOKEN, MSG_INVALID_TOKEN, _MSG_KEYS, parse_date, _PATTERN_CACHE, Principal,
    _py_pattern, QUERY_SERVICES, RECORD_HOOKS, _REL, _REL_PART, REPORT_HEADER, REPORT_TTL,
    REQUEST_CHECKS, Role, SECRET_ALPHABET, SERVER_ERRORS, service_model, Session, STS_NS,
    TAGS_PER_USER, TARGET_TO_SERVICE, trunc, _UNIT, User, UTC, validate_query_input,
    validation_error, XML_FORMATS)
from .wire import (  # noqa: E402,F401
    Ctx, _decode_marker, _encode_marker, _ErrResponse, _incomplete, _paginate, Response, _ser,
    xml_error, _xml_escape, xml_response)
from .faults import Bucket, Fault, FaultsMixin, _malform  # noqa: E402,F401
from .auth import AuthMixin  # noqa: E402,F401
from .iam import (  # noqa: E402,F401
    build_credential_report, _check_tags, _find_user_key, iam_create_access_key,
    iam_create_user, iam_delete_access_key, iam_delete_user, iam_generate_credential_report,
    iam_get_access_key_last_used, iam_get_account_authorization_details,
    iam_get_account_summary, iam_get_credential_report, iam_get_user, iam_list_access_keys,
    iam_list_groups_for_user, iam_list_user_tags, iam_list_users, iam_tag_user, iam_untag_user,
    iam_update_access_key, _key_cols, _member_scalars, _member_structs, _report_state, _TAG_RX,
    _target_user, _user_or_404, _user_xml)
from .sts import (  # noqa: E402,F401
    _new_session, _parse_role_arn, _session_xml, sts_assume_role,
    sts_assume_role_with_web_identity, sts_get_caller_identity, _trusts)
from .sso import (  # noqa: E402,F401
    MSG_SSO_UNAUTHORIZED, oidc_create_token, _oidc_error, sso_get_role_credentials, _sso_role,
    SSO_ROUTES, _sso_token_dump, _sso_token_entry, SsoMixin)
from .secretsmanager import (  # noqa: E402,F401
    SecretsMixin, sm_create_secret, sm_describe_secret, _sm_find, sm_get_secret_value,
    sm_put_secret_value, _sm_required, _sm_value)
from .ssm import (  # noqa: E402,F401
    _fake_ciphertext, _ssm_arn, ssm_get_parameter, _ssm_name, ssm_put_parameter, SsmMixin)
from .organizations import org_describe_organization, _org_for, org_list_accounts  # noqa: E402,F401
from .state import StateMixin  # noqa: E402,F401
from .server import Emulator, Handler, HANDLERS, main, Server  # noqa: E402,F401

dynamodb_service.register(sys.modules[__name__])
cloudtrail_service.register(sys.modules[__name__])
sns_service.register(sys.modules[__name__])
ec2_service.register(sys.modules[__name__])
root_service.register(sys.modules[__name__])
iampolicy_service.register(sys.modules[__name__])
