-- pmon schema for MySQL 5.7/8.x, MariaDB 10.5+ and TiDB. GENERATED from src/store/schema.ts:
-- do not edit by hand (UPDATE_INIT_SQL=1 bun test test/integration/store/schema.test.ts rewrites it).
-- `pmon server` creates and migrates the same schema itself; this file is for DBAs who create it by hand:
--   CREATE DATABASE dbzz_monitor DEFAULT CHARACTER SET utf8mb4; USE dbzz_monitor; SOURCE init.sql;

CREATE TABLE IF NOT EXISTS `tb_monitor_schema_version` (
  `version` int NOT NULL,
  `name` varchar(255) NOT NULL DEFAULT '',
  `applied_at` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- migration 1: legacy tables with pmon columns
CREATE TABLE IF NOT EXISTS `tb_monitor_host_config` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `istate` tinyint NOT NULL DEFAULT '0',
  `secret_hash` varchar(128) NOT NULL DEFAULT '',
  `agent_version` varchar(64) NOT NULL DEFAULT '',
  `previous_version` varchar(64) NOT NULL DEFAULT '',
  `last_report_at` bigint NULL,
  `last_agent_time` bigint NULL,
  `clock_skew_ms` bigint NULL,
  `deploy_failures` int NOT NULL DEFAULT '0',
  `deploy_error` varchar(2048) NOT NULL DEFAULT '',
  `next_deploy_at` bigint NULL,
  `created_at` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  `updated_at` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_rshost` (`rshost`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tb_monitor_host_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `cpu_info` json NULL,
  `mem_info` json NULL,
  `io_info` json NULL,
  `net` json NULL,
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`, `a_time`),
  KEY `idx_rshost_a_time` (`rshost`, `a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8
PARTITION BY RANGE (TO_DAYS(`a_time`)) (PARTITION pmax VALUES LESS THAN MAXVALUE);

CREATE TABLE IF NOT EXISTS `tb_monitor_disk_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `part` varchar(255) NOT NULL DEFAULT '',
  `disk_info` json NULL,
  `mount` varchar(4096) NOT NULL DEFAULT '',
  `fstype` varchar(64) NOT NULL DEFAULT '',
  `total_bytes` bigint NOT NULL DEFAULT '0',
  `used_bytes` bigint NOT NULL DEFAULT '0',
  `free_bytes` bigint NOT NULL DEFAULT '0',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`, `a_time`),
  KEY `idx_rshost_a_time` (`rshost`, `a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8
PARTITION BY RANGE (TO_DAYS(`a_time`)) (PARTITION pmax VALUES LESS THAN MAXVALUE);

CREATE TABLE IF NOT EXISTS `tb_monitor_disk_util_qu_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `dev` varchar(300) NOT NULL DEFAULT '',
  `avgqu` float NOT NULL DEFAULT '0',
  `util` float NOT NULL DEFAULT '0',
  `read_kbs` float NOT NULL DEFAULT '0',
  `write_kbs` float NOT NULL DEFAULT '0',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`, `a_time`),
  KEY `idx_rshost_a_time` (`rshost`, `a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8
PARTITION BY RANGE (TO_DAYS(`a_time`)) (PARTITION pmax VALUES LESS THAN MAXVALUE);

CREATE TABLE IF NOT EXISTS `tb_monitor_port_net_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `pid` int NULL,
  `rsinfo` varchar(64) NOT NULL DEFAULT '',
  `remote` varchar(64) NOT NULL DEFAULT '',
  `in_info` double NOT NULL DEFAULT '0',
  `out_info` double NOT NULL DEFAULT '0',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`, `a_time`),
  KEY `idx_rshost_a_time` (`rshost`, `a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8
PARTITION BY RANGE (TO_DAYS(`a_time`)) (PARTITION pmax VALUES LESS THAN MAXVALUE);

CREATE TABLE IF NOT EXISTS `tb_monitor_process_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `md5_str` char(32) CHARACTER SET ascii NOT NULL DEFAULT '',
  `remarks` mediumtext NULL,
  `comm` varchar(64) NOT NULL DEFAULT '',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_md5` (`md5_str`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tb_monitor_process_io_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `pid` int NOT NULL DEFAULT '0',
  `rsport` int GENERATED ALWAYS AS (`pid`) VIRTUAL,
  `start_time` bigint NOT NULL DEFAULT '0',
  `ppid` int NOT NULL DEFAULT '0',
  `user` varchar(256) NOT NULL DEFAULT '',
  `instance` varchar(1024) NOT NULL DEFAULT '',
  `cpu` float NOT NULL DEFAULT '0',
  `rss_bytes` bigint NOT NULL DEFAULT '0',
  `mem` double GENERATED ALWAYS AS (`rss_bytes` / 1073741824) VIRTUAL,
  `io_r` float NOT NULL DEFAULT '0',
  `io_w` float NOT NULL DEFAULT '0',
  `net_in` float NOT NULL DEFAULT '0',
  `net_out` float NOT NULL DEFAULT '0',
  `threads` int NOT NULL DEFAULT '0',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  `md5_str` char(32) CHARACTER SET ascii NOT NULL DEFAULT '',
  `remarks` text NULL,
  PRIMARY KEY (`id`, `a_time`),
  KEY `idx_rshost_a_time` (`rshost`, `a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4
PARTITION BY RANGE (TO_DAYS(`a_time`)) (PARTITION pmax VALUES LESS THAN MAXVALUE);

CREATE TABLE IF NOT EXISTS `tb_monitor_process_rest_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `count` int NOT NULL DEFAULT '0',
  `cpu` float NOT NULL DEFAULT '0',
  `rss_bytes` bigint NOT NULL DEFAULT '0',
  `mem` double GENERATED ALWAYS AS (`rss_bytes` / 1073741824) VIRTUAL,
  `io_r` float NOT NULL DEFAULT '0',
  `io_w` float NOT NULL DEFAULT '0',
  `net_in` float NOT NULL DEFAULT '0',
  `net_out` float NOT NULL DEFAULT '0',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`, `a_time`),
  KEY `idx_rshost_a_time` (`rshost`, `a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8
PARTITION BY RANGE (TO_DAYS(`a_time`)) (PARTITION pmax VALUES LESS THAN MAXVALUE);

CREATE TABLE IF NOT EXISTS `tb_monitor_listen_port_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `port` int NOT NULL DEFAULT '0',
  `pid` int NULL,
  `connections` int NOT NULL DEFAULT '0',
  `in_info` float NOT NULL DEFAULT '0',
  `out_info` float NOT NULL DEFAULT '0',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`, `a_time`),
  KEY `idx_rshost_a_time` (`rshost`, `a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8
PARTITION BY RANGE (TO_DAYS(`a_time`)) (PARTITION pmax VALUES LESS THAN MAXVALUE);

CREATE TABLE IF NOT EXISTS `tb_monitor_net_unattributed_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `iface` varchar(64) NOT NULL DEFAULT '',
  `in_info` float NOT NULL DEFAULT '0',
  `out_info` float NOT NULL DEFAULT '0',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`, `a_time`),
  KEY `idx_rshost_a_time` (`rshost`, `a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8
PARTITION BY RANGE (TO_DAYS(`a_time`)) (PARTITION pmax VALUES LESS THAN MAXVALUE);

CREATE TABLE IF NOT EXISTS `tb_monitor_report_seen` (
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `report_id` varchar(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`rshost`, `report_id`),
  KEY `idx_a_time` (`a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8;

CREATE TABLE IF NOT EXISTS `tb_monitor_alert_info` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `rshost` varchar(255) CHARACTER SET ascii DEFAULT '',
  `kind` varchar(32) NOT NULL DEFAULT 'silent',
  `istate` tinyint NOT NULL DEFAULT '0',
  `a_time` datetime NOT NULL DEFAULT '2021-12-08 00:00:00',
  `remarks` varchar(1024) NOT NULL DEFAULT '',
  `since` datetime NULL,
  `sent` int NOT NULL DEFAULT '0',
  `owner` varchar(128) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_alert_task` (`rshost`, `kind`),
  KEY `idx_a_time` (`a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tb_monitor_version` (
  `id` int NOT NULL AUTO_INCREMENT,
  `version` varchar(64) DEFAULT '',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`),
  KEY `idx_a_time` (`a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `tb_monitor_server_info` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `server_id` varchar(128) NOT NULL DEFAULT '',
  `address` varchar(255) NOT NULL DEFAULT '',
  `version` varchar(64) NOT NULL DEFAULT '',
  `started_at` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_server_id` (`server_id`),
  KEY `idx_a_time` (`a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO `tb_monitor_schema_version` (`version`, `name`, `applied_at`) VALUES (1, 'legacy tables with pmon columns', UTC_TIMESTAMP());

-- migration 2: host deployed_by_pmon flag
ALTER TABLE `tb_monitor_host_config` ADD COLUMN `deployed_by_pmon` tinyint NOT NULL DEFAULT '1';

INSERT IGNORE INTO `tb_monitor_schema_version` (`version`, `name`, `applied_at`) VALUES (2, 'host deployed_by_pmon flag', UTC_TIMESTAMP());

-- migration 3: process exited flag
ALTER TABLE `tb_monitor_process_io_info` ADD COLUMN `exited` tinyint NOT NULL DEFAULT '0';

INSERT IGNORE INTO `tb_monitor_schema_version` (`version`, `name`, `applied_at`) VALUES (3, 'process exited flag', UTC_TIMESTAMP());

-- migration 4: alert log
CREATE TABLE IF NOT EXISTS `tb_monitor_alert_log` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `event_key` char(32) CHARACTER SET ascii NOT NULL,
  `rshost` varchar(255) CHARACTER SET ascii NOT NULL DEFAULT '',
  `kind` varchar(255) NOT NULL DEFAULT '',
  `state` varchar(16) CHARACTER SET ascii NOT NULL DEFAULT '',
  `since` datetime NULL,
  `a_time` datetime NOT NULL DEFAULT '2022-01-01 00:00:00',
  `message` text NULL,
  `delivered` tinyint NOT NULL DEFAULT '0',
  `channels` int NOT NULL DEFAULT '0',
  `sender` varchar(128) NOT NULL DEFAULT '',
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk_event_key` (`event_key`),
  KEY `idx_a_time` (`a_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO `tb_monitor_schema_version` (`version`, `name`, `applied_at`) VALUES (4, 'alert log', UTC_TIMESTAMP());

-- migration 5: compressed pages of 4 KB
ALTER TABLE `tb_monitor_host_info` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;

ALTER TABLE `tb_monitor_disk_info` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;

ALTER TABLE `tb_monitor_disk_util_qu_info` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;

ALTER TABLE `tb_monitor_port_net_info` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;

ALTER TABLE `tb_monitor_process_rest_info` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;

ALTER TABLE `tb_monitor_listen_port_info` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;

ALTER TABLE `tb_monitor_net_unattributed_info` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;

ALTER TABLE `tb_monitor_report_seen` ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4;

INSERT IGNORE INTO `tb_monitor_schema_version` (`version`, `name`, `applied_at`) VALUES (5, 'compressed pages of 4 KB', UTC_TIMESTAMP());

-- migration 6: process md5 as 16 bytes
ALTER TABLE `tb_monitor_process_io_info` ADD COLUMN `md5` varbinary(16) NOT NULL DEFAULT '';

UPDATE `tb_monitor_process_io_info` SET `md5` = COALESCE(UNHEX(`md5_str`), '') WHERE `md5` = '' AND `md5_str` <> '';

ALTER TABLE `tb_monitor_process_io_info` DROP COLUMN `md5_str`, ADD COLUMN `md5_str` char(32) CHARACTER SET ascii GENERATED ALWAYS AS (LOWER(HEX(`md5`))) VIRTUAL;

INSERT IGNORE INTO `tb_monitor_schema_version` (`version`, `name`, `applied_at`) VALUES (6, 'process md5 as 16 bytes', UTC_TIMESTAMP());

-- migration 7: sqlite: a_time and rates stored compact
INSERT IGNORE INTO `tb_monitor_schema_version` (`version`, `name`, `applied_at`) VALUES (7, 'sqlite: a_time and rates stored compact', UTC_TIMESTAMP());

-- migration 8: sqlite: indexes on the integer time
INSERT IGNORE INTO `tb_monitor_schema_version` (`version`, `name`, `applied_at`) VALUES (8, 'sqlite: indexes on the integer time', UTC_TIMESTAMP());
