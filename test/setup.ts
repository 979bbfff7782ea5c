// bun test preload: every test sees UTC and a quiet log unless PMON_TEST_LOG is set.
process.env.TZ = "UTC";
if (!process.env.PMON_TEST_LOG) process.env.PMON_LOG_LEVEL = "silent";
