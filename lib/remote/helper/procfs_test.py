"""Unit tests of procfs.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from procfs import proc_cmdline, proc_cwd, proc_daemons, proc_session_members, procfs_available  # noqa: E402

class ProcfsTest(unittest.TestCase):
    def test_sessh_no_procfs_turns_it_off(self):
        self.assertFalse(procfs_available({"SESSH_NO_PROCFS": "1"}))
        self.assertEqual(procfs_available({"SESSH_NO_PROCFS": "0"}), os.path.isdir("/proc/self"))
        self.assertEqual(procfs_available({}), os.path.isdir("/proc/self"))

    @unittest.skipUnless(os.path.isdir("/proc/self"), "no procfs here")
    def test_it_lists_a_terminal_session_background_jobs_included(self):
        # A session leader whose child has a process group of its own, as a shell's background job has.
        code = "import os, time; os.setpgid(0, 0) if os.fork() == 0 else None; time.sleep(30)"
        with subprocess.Popen([sys.executable, "-c", code], start_new_session=True, cwd="/") as leader:
            try:
                deadline = time.time() + 5
                while time.time() < deadline and not [pid for pid in proc_session_members(leader.pid)
                                                      if os.getpgid(pid) == pid]:
                    time.sleep(0.02)  # until the child has set its own group
                members = proc_session_members(leader.pid)
                self.assertEqual(len(members), 1)
                self.assertEqual(os.getpgid(members[0]), members[0])
                self.assertEqual(proc_cmdline(leader.pid)[1:3], [b"-c", code.encode()])
                self.assertEqual(proc_cwd(leader.pid), "/")
            finally:
                for pid in [leader.pid] + proc_session_members(leader.pid):
                    os.kill(pid, 9)

    @unittest.skipUnless(os.path.isdir("/proc/self"), "no procfs here")
    def test_it_finds_a_daemon_by_its_removed_pid_file_and_looks_only_into_daemons(self):
        import tempfile
        # A holder of a pid file that is gone from its directory, named as the daemon names itself, or not.
        code = ("import os, sys, time; open('/proc/self/comm', 'w').write(sys.argv[2]); "
                "f = open(sys.argv[1], 'w'); f.write('%d\\n/rt\\n' % os.getpid()); f.flush(); "
                "os.unlink(sys.argv[1]); print(flush=True); time.sleep(30)")
        with tempfile.TemporaryDirectory() as tmp:
            holders = [subprocess.Popen([sys.executable, "-c", code, os.path.join(tmp, "%s.pid" % name), name],
                                        stdout=subprocess.PIPE) for name in ("sessh-daemon", "other")]
            try:
                for holder in holders:
                    holder.stdout.readline()  # its pid file is written and removed
                found = dict(proc_daemons(os.getuid(), "sessh-daemon.pid"))
                self.assertEqual(found.get(holders[0].pid), ["/rt", tmp])
                self.assertEqual(dict(proc_daemons(os.getuid(), "other.pid")), {})
            finally:
                for holder in holders:
                    holder.kill()
                    holder.wait()
                    holder.stdout.close()


if __name__ == "__main__":
    unittest.main()
