/** The gateway's error answer for API paths (src/request/send-error.ts): MLflow's shape plus the gateway's code and request id. */
export interface ErrorBody {
  error_code: string;
  message: string;
  gateway_error: string;
  request_id: string;
}
