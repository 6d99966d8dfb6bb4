"""Counting what a MySQL server sees: the connections a pool opened, a session's counters.

06's pool demonstrations measure each PooledDB/PersistentDB parameter on the server itself;
these read the server's side, on an admin connection they are handed.
"""

import time


class ServerCount:
    """How many connections the server shows for the database that were opened after this
    count started (the demo's own `db` pool has some open), read on an admin connection.
    The server numbers its connections in order, so "opened after" is "a higher id": a
    connection still closing from before is not counted, whenever it goes."""

    def __init__(self, admin, database):
        self.admin, self.database = admin, database
        with self.admin.cursor() as cur:
            cur.execute("SELECT MAX(ID) FROM information_schema.PROCESSLIST")
            self.last_id_before = cur.fetchone()[0]

    def now(self):
        with self.admin.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s AND ID > %s",
                (self.database, self.last_id_before),
            )
            return cur.fetchone()[0]

    def settled(self, expected, timeout=5):
        """The count once the connections just closed have gone (closing takes the server a
        moment): polled until it is down to `expected`, or `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        count = self.now()
        while count > expected and time.monotonic() < deadline:
            time.sleep(0.05)
            count = self.now()
        return count


def session_counter(conn, name):
    """The value of the server's session status variable `name` for connection `conn`."""
    with conn.cursor() as cur:
        cur.execute("SHOW SESSION STATUS LIKE %s", (name,))
        return int(cur.fetchone()[1])
