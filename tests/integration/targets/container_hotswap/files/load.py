# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load during a swap: N clients send GET / to 127.0.0.1:PORT, one connection per request
(the harder case for a listener that closes), until STOP_FILE exists or MAX_SECONDS pass.
Prints one JSON line: requests, ok, failed, errors per class, versions seen (X-App-Version)."""

import collections
import http.client
import json
import os
import socket
import sys
import threading
import time


def main():
    port, concurrency, stop_file, max_seconds = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                                 float(sys.argv[4]))
    lock = threading.Lock()
    counts = collections.Counter()
    versions = collections.Counter()
    first_errors = []
    deadline = time.monotonic() + max_seconds

    def client():
        while time.monotonic() < deadline and not os.path.exists(stop_file):
            error = 'unexpected status'
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
            try:
                conn.request('GET', '/', headers={'Connection': 'close'})
                resp = conn.getresponse()
                resp.read()
                outcome = 'ok' if resp.status == 200 else 'status_%d' % resp.status
                version = resp.getheader('X-App-Version')
            except ConnectionRefusedError as exc:
                outcome, version = 'refused', None
                error = repr(exc)
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as exc:
                outcome, version = 'reset', None
                error = repr(exc)
            except socket.timeout as exc:
                outcome, version = 'timeout', None
                error = repr(exc)
            except Exception as exc:  # anything else is a failure too
                outcome, version = 'other', None
                error = repr(exc)
            finally:
                conn.close()
            with lock:
                counts[outcome] += 1
                if version:
                    versions[version] += 1
                if outcome != 'ok' and len(first_errors) < 5:
                    first_errors.append('%s: %s' % (outcome, error))

    threads = [threading.Thread(target=client, daemon=True) for dummy in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(counts.values())
    print(json.dumps(dict(requests=total, ok=counts['ok'], failed=total - counts['ok'],
                          errors=dict((k, v) for k, v in counts.items() if k != 'ok'),
                          versions=dict(versions), first_errors=first_errors)))


if __name__ == '__main__':
    main()
