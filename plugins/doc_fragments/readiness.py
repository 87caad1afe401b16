# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Matches READINESS_ARGS / READINESS_NESTED_ARGS in plugins/module_utils/_readiness.py;
    # they change together.
    # DOCUMENTATION: the wait options at a module's top level (zerodowntime.deploy.readiness).
    # NESTED: the same options under one `readiness` dict option (zerodowntime.deploy.readiness.nested),
    # every option reference prefixed with `readiness.`.
    # tests/unit/plugins/module_utils/test_readiness_docs.py keeps both in step with the argspec.
    DOCUMENTATION = r'''
options:
  checks:
    description:
      - The readiness checks. Every check must pass, O(success_threshold) attempts in a row, before
        O(timeout) runs out.
      - Each element has a O(checks[].type) and the keys of that type; a key of another type is an
        error (for example O(checks[].port) on an V(http) check).
      - A V(container) check ends the wait at once, without waiting out O(timeout), when the
        container exits, is removed, restarts, or turns V(unhealthy) after having been healthy.
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - V(http) - an HTTP or HTTPS request (optionally over a unix socket) must answer with one of
            O(checks[].status_codes), and match O(checks[].body), O(checks[].body_regex) and
            O(checks[].response_headers) when given. Redirects are not followed.
          - V(tcp) - a TCP connection to O(checks[].host):O(checks[].port) must be accepted.
          - V(unix) - a connection to the unix stream socket O(checks[].path) must be accepted.
          - V(file) - O(checks[].path) must exist; with O(checks[].pid_alive=true) it must hold the
            id of a live process on the managed host.
          - V(container) - the Docker container O(checks[].container) must be running and, with
            O(checks[].healthy=true) and a HEALTHCHECK in the container, healthy.
        type: str
        required: true
        choices: [http, tcp, unix, file, container]
      name:
        description:
          - A name for this check in results and messages. Defaults to a description of the check
            (V(GET http://127.0.0.1:8080/health), V(tcp 127.0.0.1:5432)...).
        type: str
      url:
        description:
          - V(http) checks, required there. The V(http://) or V(https://) URL to request.
          - With O(checks[].unix_socket), only its path and host (the Host header) are used, and a
            bare path such as V(/health) means V(http://localhost/health).
          - Credentials go in O(checks[].url_username) and O(checks[].url_password), not in the URL.
        type: str
      unix_socket:
        description:
          - V(http) checks. Send the request over this unix stream socket instead of TCP
            (plain HTTP only).
        type: path
      method:
        description:
          - V(http) checks. The HTTP method.
        type: str
        default: GET
      status_codes:
        description:
          - V(http) checks. Statuses that count as a pass.
        type: list
        elements: int
        default: [200]
      body:
        description:
          - V(http) checks. The response body must contain this text.
        type: str
      body_regex:
        description:
          - V(http) checks. The response body must match this Python regular expression
            (searched, not anchored).
        type: str
      headers:
        description:
          - V(http) checks. Extra request headers.
          - Values are C(no_log) (they may hold credentials, for example C(Authorization) or
            C(Cookie)) and masked in the task's arguments and output, also where the same text
            appears elsewhere in the output, so avoid very short values.
        type: dict
      response_headers:
        description:
          - V(http) checks. Response headers that must be present with exactly these values
            (names are case-insensitive), for example C(X-App-Version) with value V(v2).
        type: dict
      validate_certs:
        description:
          - V(http) checks. Verify the server's TLS certificate and host name. Only turn this off
            for throw-away test servers.
        type: bool
        default: true
      ca_path:
        description:
          - V(http) checks. CA bundle (PEM) used to verify the server's certificate instead of the
            system's trust store.
        type: path
      client_cert:
        description:
          - V(http) checks. Client certificate (PEM) presented to the server. May include the key.
        type: path
      client_key:
        description:
          - V(http) checks. Private key (PEM) of O(checks[].client_cert). Requires O(checks[].client_cert).
        type: path
      url_username:
        description:
          - V(http) checks. User name for HTTP basic authentication.
        type: str
      url_password:
        description:
          - V(http) checks. Password for HTTP basic authentication. Requires O(checks[].url_username).
        type: str
      request_timeout:
        description:
          - V(http), V(tcp) and V(unix) checks. Seconds one attempt may take (connect and answer).
            Never runs past the overall O(timeout).
        type: float
        default: 5.0
      host:
        description:
          - V(tcp) checks. Host name or address to connect to.
        type: str
        default: 127.0.0.1
      port:
        description:
          - V(tcp) checks, required there. TCP port to connect to.
        type: int
      path:
        description:
          - V(unix) checks - the unix socket to connect to. V(file) checks - the file that must exist.
            Required for both.
        type: path
      pid_alive:
        description:
          - V(file) checks. The file must hold a process id (first word) of a live, non-zombie
            process on the managed host.
        type: bool
        default: false
      container:
        description:
          - V(container) checks, required there. Name or id of the Docker container.
          - Needs the Docker connection options of the module.
        type: str
      healthy:
        description:
          - V(container) checks. When the container has a HEALTHCHECK, require its status to be
            V(healthy) (V(starting) keeps waiting). V(false) only requires it to be running.
          - V(unhealthy) before the first V(healthy) also keeps waiting (Docker reports a slow
            start without a start period as unhealthy); V(unhealthy) after a V(healthy) fails at once.
        type: bool
        default: true
  timeout:
    description:
      - Seconds from the start of the wait until it gives up, O(initial_delay) included. Must be
        greater than 0.
      - On timeout the failure message names each failing check and what it saw last.
    type: float
    default: 60.0
  interval:
    description:
      - Seconds from the start of one attempt to the start of the next. Fractions are allowed
        (V(0.1)). Must be greater than 0.
      - With a C(container) check, an attempt also starts as soon as the Docker engine reports
        a health status change, an exit or a removal of that container (its event stream), so a
        HEALTHCHECK turning healthy is noticed at once, not up to an O(interval) later.
    type: float
    default: 1.0
  success_threshold:
    description:
      - How many attempts in a row every check must pass. At least 1.
    type: int
    default: 1
  initial_delay:
    description:
      - Seconds to wait before the first attempt. At least 0 and shorter than O(timeout).
    type: float
    default: 0.0
  warmup:
    description:
      - Once every check passed, request these URLs to warm the service up (caches, connection pools,
        JIT) before it takes real traffic, and report the latency.
      - Fails the task when a warmup request fails, unless O(warmup.fail_on_error=false).
    type: dict
    suboptions:
      urls:
        description:
          - URLs to request, each O(warmup.requests_per_url) times. One of O(warmup.urls) and
            O(warmup.url_file) is required; both may be given.
        type: list
        elements: str
      url_file:
        description:
          - A file on the managed host with one URL per line, like a Siege URL file. Blank lines and
            lines starting with V(#) are skipped. Added after O(warmup.urls).
        type: path
      unix_socket:
        description:
          - Send every warmup request over this unix stream socket (plain HTTP); the URLs then only
            give path and Host header, and may be bare paths such as V(/).
        type: path
      requests_per_url:
        description:
          - How many requests each URL gets. At least 1.
        type: int
        default: 10
      concurrency:
        description:
          - How many clients send requests at the same time. At least 1.
        type: int
        default: 4
      status_codes:
        description:
          - Statuses that count as a successful warmup request.
        type: list
        elements: int
        default: [200]
      request_timeout:
        description:
          - Seconds one warmup request may take.
        type: float
        default: 5.0
      validate_certs:
        description:
          - Verify the TLS certificate of V(https://) URLs.
        type: bool
        default: true
      ca_path:
        description:
          - CA bundle (PEM) used to verify V(https://) URLs.
        type: path
      headers:
        description:
          - Extra request headers sent with every warmup request.
          - Values are C(no_log) (they may hold credentials, for example C(Authorization) or
            C(Cookie)) and masked in the task's arguments and output, also where the same text
            appears elsewhere in the output, so avoid very short values.
        type: dict
      keepalive:
        description:
          - Reuse each client's connection between its requests (HTTP/1.1 keep-alive).
        type: bool
        default: true
      fail_on_error:
        description:
          - Fail the task when any warmup request fails (no answer, or a status not in
            O(warmup.status_codes)). With V(false) the failures are only reported in the result.
        type: bool
        default: true
'''

    NESTED = r'''
options:
  readiness:
    description:
      - When and how to decide that the new container is ready to take traffic; the
        same options as the M(zerodowntime.deploy.wait_ready) module.
    type: dict
    suboptions:
      checks:
        description:
          - The readiness checks. Every check must pass, O(readiness.success_threshold) attempts in a row, before
            O(readiness.timeout) runs out.
          - Each element has a O(readiness.checks[].type) and the keys of that type; a key of another type is an
            error (for example O(readiness.checks[].port) on an V(http) check).
          - A V(container) check ends the wait at once, without waiting out O(readiness.timeout), when the
            container exits, is removed, restarts, or turns V(unhealthy) after having been healthy.
        type: list
        elements: dict
        suboptions:
          type:
            description:
              - V(http) - an HTTP or HTTPS request (optionally over a unix socket) must answer with one of
                O(readiness.checks[].status_codes), and match O(readiness.checks[].body), O(readiness.checks[].body_regex) and
                O(readiness.checks[].response_headers) when given. Redirects are not followed.
              - V(tcp) - a TCP connection to O(readiness.checks[].host):O(readiness.checks[].port) must be accepted.
              - V(unix) - a connection to the unix stream socket O(readiness.checks[].path) must be accepted.
              - V(file) - O(readiness.checks[].path) must exist; with O(readiness.checks[].pid_alive=true) it must hold the
                id of a live process on the managed host.
              - V(container) - the Docker container O(readiness.checks[].container) must be running and, with
                O(readiness.checks[].healthy=true) and a HEALTHCHECK in the container, healthy.
            type: str
            required: true
            choices: [http, tcp, unix, file, container]
          name:
            description:
              - A name for this check in results and messages. Defaults to a description of the check
                (V(GET http://127.0.0.1:8080/health), V(tcp 127.0.0.1:5432)...).
            type: str
          url:
            description:
              - V(http) checks, required there. The V(http://) or V(https://) URL to request.
              - With O(readiness.checks[].unix_socket), only its path and host (the Host header) are used, and a
                bare path such as V(/health) means V(http://localhost/health).
              - Credentials go in O(readiness.checks[].url_username) and O(readiness.checks[].url_password), not in the URL.
            type: str
          unix_socket:
            description:
              - V(http) checks. Send the request over this unix stream socket instead of TCP
                (plain HTTP only).
            type: path
          method:
            description:
              - V(http) checks. The HTTP method.
            type: str
            default: GET
          status_codes:
            description:
              - V(http) checks. Statuses that count as a pass.
            type: list
            elements: int
            default: [200]
          body:
            description:
              - V(http) checks. The response body must contain this text.
            type: str
          body_regex:
            description:
              - V(http) checks. The response body must match this Python regular expression
                (searched, not anchored).
            type: str
          headers:
            description:
              - V(http) checks. Extra request headers.
              - Values are C(no_log) (they may hold credentials, for example C(Authorization) or
                C(Cookie)) and masked in the task's arguments and output, also where the same text
                appears elsewhere in the output, so avoid very short values.
            type: dict
          response_headers:
            description:
              - V(http) checks. Response headers that must be present with exactly these values
                (names are case-insensitive), for example C(X-App-Version) with value V(v2).
            type: dict
          validate_certs:
            description:
              - V(http) checks. Verify the server's TLS certificate and host name. Only turn this off
                for throw-away test servers.
            type: bool
            default: true
          ca_path:
            description:
              - V(http) checks. CA bundle (PEM) used to verify the server's certificate instead of the
                system's trust store.
            type: path
          client_cert:
            description:
              - V(http) checks. Client certificate (PEM) presented to the server. May include the key.
            type: path
          client_key:
            description:
              - V(http) checks. Private key (PEM) of O(readiness.checks[].client_cert). Requires O(readiness.checks[].client_cert).
            type: path
          url_username:
            description:
              - V(http) checks. User name for HTTP basic authentication.
            type: str
          url_password:
            description:
              - V(http) checks. Password for HTTP basic authentication. Requires O(readiness.checks[].url_username).
            type: str
          request_timeout:
            description:
              - V(http), V(tcp) and V(unix) checks. Seconds one attempt may take (connect and answer).
                Never runs past the overall O(readiness.timeout).
            type: float
            default: 5.0
          host:
            description:
              - V(tcp) checks. Host name or address to connect to.
            type: str
            default: 127.0.0.1
          port:
            description:
              - V(tcp) checks, required there. TCP port to connect to.
            type: int
          path:
            description:
              - V(unix) checks - the unix socket to connect to. V(file) checks - the file that must exist.
                Required for both.
            type: path
          pid_alive:
            description:
              - V(file) checks. The file must hold a process id (first word) of a live, non-zombie
                process on the managed host.
            type: bool
            default: false
          container:
            description:
              - V(container) checks, required there. Name or id of the Docker container.
              - Needs the Docker connection options of the module.
            type: str
          healthy:
            description:
              - V(container) checks. When the container has a HEALTHCHECK, require its status to be
                V(healthy) (V(starting) keeps waiting). V(false) only requires it to be running.
              - V(unhealthy) before the first V(healthy) also keeps waiting (Docker reports a slow
                start without a start period as unhealthy); V(unhealthy) after a V(healthy) fails at once.
            type: bool
            default: true
      timeout:
        description:
          - Seconds from the start of the wait until it gives up, O(readiness.initial_delay) included. Must be
            greater than 0.
          - On timeout the failure message names each failing check and what it saw last.
        type: float
        default: 60.0
      interval:
        description:
          - Seconds from the start of one attempt to the start of the next. Fractions are allowed
            (V(0.1)). Must be greater than 0.
          - With a C(container) check, an attempt also starts as soon as the Docker engine reports
            a health status change, an exit or a removal of that container (its event stream), so a
            HEALTHCHECK turning healthy is noticed at once, not up to an O(readiness.interval) later.
        type: float
        default: 1.0
      success_threshold:
        description:
          - How many attempts in a row every check must pass. At least 1.
        type: int
        default: 1
      initial_delay:
        description:
          - Seconds to wait before the first attempt. At least 0 and shorter than O(readiness.timeout).
        type: float
        default: 0.0
      warmup:
        description:
          - Once every check passed, request these URLs to warm the service up (caches, connection pools,
            JIT) before it takes real traffic, and report the latency.
          - Fails the task when a warmup request fails, unless O(readiness.warmup.fail_on_error=false).
        type: dict
        suboptions:
          urls:
            description:
              - URLs to request, each O(readiness.warmup.requests_per_url) times. One of O(readiness.warmup.urls) and
                O(readiness.warmup.url_file) is required; both may be given.
            type: list
            elements: str
          url_file:
            description:
              - A file on the managed host with one URL per line, like a Siege URL file. Blank lines and
                lines starting with V(#) are skipped. Added after O(readiness.warmup.urls).
            type: path
          unix_socket:
            description:
              - Send every warmup request over this unix stream socket (plain HTTP); the URLs then only
                give path and Host header, and may be bare paths such as V(/).
            type: path
          requests_per_url:
            description:
              - How many requests each URL gets. At least 1.
            type: int
            default: 10
          concurrency:
            description:
              - How many clients send requests at the same time. At least 1.
            type: int
            default: 4
          status_codes:
            description:
              - Statuses that count as a successful warmup request.
            type: list
            elements: int
            default: [200]
          request_timeout:
            description:
              - Seconds one warmup request may take.
            type: float
            default: 5.0
          validate_certs:
            description:
              - Verify the TLS certificate of V(https://) URLs.
            type: bool
            default: true
          ca_path:
            description:
              - CA bundle (PEM) used to verify V(https://) URLs.
            type: path
          headers:
            description:
              - Extra request headers sent with every warmup request.
              - Values are C(no_log) (they may hold credentials, for example C(Authorization) or
                C(Cookie)) and masked in the task's arguments and output, also where the same text
                appears elsewhere in the output, so avoid very short values.
            type: dict
          keepalive:
            description:
              - Reuse each client's connection between its requests (HTTP/1.1 keep-alive).
            type: bool
            default: true
          fail_on_error:
            description:
              - Fail the task when any warmup request fails (no answer, or a status not in
                O(readiness.warmup.status_codes)). With V(false) the failures are only reported in the result.
            type: bool
            default: true
'''
