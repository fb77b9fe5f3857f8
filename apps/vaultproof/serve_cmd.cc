#include "serve_cmd.h"

#include <iostream>

#include "cli_io.h"
#include "vp/http/config.h"
#include "vp/http/gateway.h"

namespace vp::app {
namespace {

struct ServeFlags {
  std::string config;
  std::string listen;
  std::string data_dir;
};

Status Serve(const ServeFlags& flags) {
  ASSIGN_OR_RETURN(http::GatewayConfig cfg, http::LoadGatewayConfig(flags.config, http::ProcessEnv()));
  if (!flags.listen.empty()) cfg.listen = flags.listen;
  if (!flags.data_dir.empty()) cfg.data_dir = flags.data_dir;
  ASSIGN_OR_RETURN(auto gateway, http::Gateway::Create(cfg));
  RETURN_IF_ERROR(gateway->Listen());
  // The bound address on stdout, so scripts and tests using port 0 learn the port.
  std::cout << "{\"listening\":\"" << cfg.listen.substr(0, cfg.listen.rfind(':')) << ":" << gateway->port()
            << "\"}" << std::endl;
  return gateway->Run(/*install_signals=*/true);
}

}  // namespace

void AddServeCommands(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve", "Run the HTTP gateway (until SIGTERM/SIGINT)");
  serve->add_option("--config", flags->config, "TOML configuration file");
  serve->add_option("--listen", flags->listen, "ADDR:PORT to listen on (default 127.0.0.1:8080; port 0 = any)");
  serve->add_option("--data-dir", flags->data_dir, "Data directory (default var/)");
  serve->callback([flags, exit_code] {
    Status s = Serve(*flags);
    if (!s.ok()) {
      PrintError(s);
      *exit_code = 2;
      return;
    }
    *exit_code = 0;
  });
}

}  // namespace vp::app
