// What every alert carries from the rule that raised it to the channels that deliver it.

/** silent | server_down | deploy_failed | rolled_back | cpu | mem | fs:<mount> | util:<dev> */
export type AlertKind = string;

export interface AlertEvent {
  /** the host the alert is about (for server_down: the agent that reports it) */
  host: string;
  kind: AlertKind;
  state: "firing" | "resolved";
  /** a firing alert that repeats an earlier one of the same incident */
  repeat?: boolean;
  /** start of the incident, epoch ms (server clock, or the agent's clock for server_down) */
  since: number;
  /** when the alert was raised, epoch ms */
  time: number;
  /** the human text in the configured language, without the timestamp line */
  message: string;
}
