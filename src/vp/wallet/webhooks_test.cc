// Webhooks on both backends, with a real WorkerPool and a real HTTP receiver on 127.0.0.1:
// subscriptions and their strict validation, the outbox (a rolled-back change enqueues
// nothing), signed deliveries the receiver verifies with its own HMAC, retries with every
// attempt recorded, 410 Gone disabling the webhook, an unreachable receiver ending as a
// dead letter, secrets that never reach output or the database file in plaintext, and the
// HttpPost limits deliveries rely on (body cut at the cap, whole-call timeout, no header
// injection, no redirects).
#include "vp/wallet/webhooks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vp/base/test_util.h"
#include "vp/store/jobs.h"
#include "vp/store/store_test_util.h"
#include "vp/store/worker.h"

namespace vp::wallet {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using store::Conn;
using store::Dialect;
using store::TxMode;

template <typename Pred>
bool Eventually(Pred pred, milliseconds timeout = milliseconds(10'000)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// A webhook receiver on raw sockets: one request per connection (deliveries send
// "Connection: close"); the handler sees the request and returns the raw response bytes.

struct Received {
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

std::string Response(int status, const std::string& body = "", const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra + "\r\n" + body;
}

class Receiver {
 public:
  using Handler = std::function<std::string(const Received&, size_t index)>;

  explicit Receiver(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = vp::testing::ListenLoopback(&port_);
    if (listen_fd_ < 0) {
      ADD_FAILURE() << "receiver cannot listen";
      return;
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }

  std::string url(const std::string& path = "/hooks/vp?tenant=7") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Received> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }

 private:
  bool WaitReadable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 20);
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
    return false;
  }

  std::optional<Received> Read(int fd) {
    std::string data;
    for (;;) {
      const size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        Received r;
        const std::string head = data.substr(0, end);
        size_t pos = head.find("\r\n");
        const std::string request_line = head.substr(0, pos);
        const size_t sp1 = request_line.find(' ');
        const size_t sp2 = request_line.rfind(' ');
        if (sp1 != std::string::npos && sp2 > sp1) r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        while (pos != std::string::npos && pos < head.size()) {
          const size_t next = head.find("\r\n", pos + 2);
          const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
          const size_t colon = line.find(':');
          if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            size_t v = colon + 1;
            while (v < line.size() && line[v] == ' ') ++v;
            r.headers[name] = line.substr(v);
          }
          pos = next;
        }
        const size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
        if (data.size() >= end + 4 + length) {
          r.body = data.substr(end + 4, length);
          return r;
        }
      }
      if (!WaitReadable(fd)) return std::nullopt;
      char buf[65536];
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return std::nullopt;
      data.append(buf, static_cast<size_t>(n));
    }
  }

  void Serve() {
    while (!stop_) {
      if (!WaitReadable(listen_fd_)) return;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::optional<Received> req = Read(fd);
      if (req) {
        size_t index = 0;
        {
          std::lock_guard<std::mutex> lock(mu_);
          index = requests_.size();
          requests_.push_back(*req);
        }
        const std::string reply = handler_(*req, index);
        size_t sent = 0;
        while (sent < reply.size()) {
          const ssize_t n = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<size_t>(n);
        }
      }
      ::close(fd);
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Received> requests_;
  std::thread thread_;
};

// A port nobody listens on: bound, then closed.
uint16_t ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The receiver's side of VP-Signature, computed with OpenSSL's HMAC directly (not through
// vp::crypto), as a client's verifier would: "t=<secs>,v1=<hex>".
bool VerifySignature(const std::string& header, const std::string& secret, const std::string& body) {
  const size_t comma = header.find(",v1=");
  if (!header.starts_with("t=") || comma == std::string::npos) return false;
  const std::string t = header.substr(2, comma - 2);
  const std::string v1 = header.substr(comma + 4);
  const std::string text = t + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &mac_len);
  return v1 == HexEncode(ByteSpan(mac, mac_len));
}

// ---------------------------------------------------------------------------------------

// The production transport options, allowed to reach the test receivers on 127.0.0.1.
HttpOptions LocalHttp() {
  HttpOptions o = WebhookOptions().http;
  o.allow_private_addresses = true;
  return o;
}

WebhookOptions TestOptions() {
  WebhookOptions o;
  o.job.backoff_base_ms = 20;
  o.job.backoff_max_ms = 80;
  o.http.connect_timeout = milliseconds(2'000);
  o.http.total_timeout = milliseconds(5'000);
  o.http.allow_private_addresses = true;
  return o;
}

class WebhooksTest : public store::StoreTest {
 protected:
  void SetUp() override {
    store::StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    service_ = NewService(Pepper(1), TestOptions());
  }
  void TearDown() override {
    pool_.reset();  // handlers use the service
    service_.reset();
  }

  static Bytes Pepper(uint8_t fill) { return Bytes(32, fill); }
  std::unique_ptr<WebhookService> NewService(const Bytes& pepper, WebhookOptions options) {
    StatusOr<SecureBuffer> key = WebhookService::DeriveSecretKey(pepper);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return std::make_unique<WebhookService>(*db_, std::move(*key), std::move(options));
  }

  void StartPool() {
    store::WorkerOptions o;
    o.threads = 2;
    o.idle_poll_ms = 5;
    o.idle_poll_max_ms = 20;
    o.stop_deadline_ms = 2'000;
    pool_ = std::make_unique<store::WorkerPool>(*db_, std::move(o));
    VP_ASSERT_OK(service_->RegisterHandlers(*pool_));
    VP_ASSERT_OK(pool_->Start());
  }

  CreatedWebhook Create(const std::string& url, json events = json::array({"*"})) {
    StatusOr<CreatedWebhook> w = service_->Create(json{{"url", url}, {"events", std::move(events)}}, "key_admin", 1'000);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(*w) : CreatedWebhook{};
  }

  Status Emit(std::string_view event, const json& data = TxRecord()) {
    return db_->Transact(TxMode::kWrite, [&](Conn& c) { return service_->Emit(c, event, data, 1'700'000'000'123); });
  }
  static json TxRecord() { return {{"id", "tx_0123"}, {"status", "signed"}, {"value", "1000"}}; }

  std::vector<DeliveryAttempt> Attempts(const std::string& webhook_id) {
    StatusOr<DeliveryPage> p = service_->Deliveries(webhook_id, 500, "");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? p->attempts : std::vector<DeliveryAttempt>{};
  }
  // The state of the only delivery of the webhook, once it is no longer pending.
  std::string FinalState(const std::string& webhook_id) {
    std::string state;
    Eventually([&] {
      const auto a = Attempts(webhook_id);
      state = a.empty() ? "" : a.front().state;
      return state == "delivered" || state == "failed";
    });
    return state;
  }
  int64_t Depth() {
    store::JobQueue jobs(*db_);
    StatusOr<int64_t> d = jobs.Depth(kWebhookQueue);
    EXPECT_TRUE(d.ok());
    return d.ok() ? *d : -1;
  }

  std::unique_ptr<WebhookService> service_;
  std::unique_ptr<store::WorkerPool> pool_;
};

TEST_P(WebhooksTest, CreateGetListNeverShowTheSecretAgain) {
  CreatedWebhook w = Create("https://hooks.example.com/in?token=abc", json::array({"transaction.signed",
                                                                                   "transaction.failed"}));
  EXPECT_EQ(w.webhook.id.size(), 27u);
  EXPECT_TRUE(w.webhook.id.starts_with("wh_"));
  ASSERT_EQ(w.secret.size(), 6u + 64u);
  EXPECT_TRUE(w.secret.starts_with("whsec_"));
  const json created = CreatedWebhookJson(w);
  EXPECT_EQ(created["secret"], w.secret);
  EXPECT_EQ(created["events"], json::array({"transaction.signed", "transaction.failed"}));
  EXPECT_EQ(created["enabled"], true);
  EXPECT_EQ(created["createdBy"], "key_admin");
  EXPECT_EQ(created["createdAt"], 1'000);

  StatusOr<Webhook> got = service_->Get(w.webhook.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const json j = WebhookJson(*got);
  EXPECT_EQ(j["url"], "https://hooks.example.com/in?token=abc");
  EXPECT_FALSE(j.contains("secret"));
  EXPECT_EQ(j.dump().find(w.secret.substr(6)), std::string::npos);

  CreatedWebhook w2 = Create("http://127.0.0.1:9/x");
  StatusOr<std::vector<Webhook>> all = service_->List("", 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_LT((*all)[0].id, (*all)[1].id);
  StatusOr<std::vector<Webhook>> page = service_->List((*all)[0].id, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, (*all)[1].id);
  for (const Webhook& h : *all) EXPECT_EQ(WebhookJson(h).dump().find("whsec_"), std::string::npos);
  EXPECT_EQ(service_->List("", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->List("", 501).status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(service_->Get("wh_000000000000000000000000").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Get("'; DROP TABLE webhooks").status().code(), StatusCode::kNotFound);
  VP_EXPECT_OK(service_->Delete(w2.webhook.id));
  EXPECT_EQ(service_->Get(w2.webhook.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Delete(w2.webhook.id).code(), StatusCode::kNotFound);
}

TEST_P(WebhooksTest, CreateRefusesMalformedRequests) {
  struct Case {
    json request;
    std::string needle;
  };
  const json ok_events = json::array({"transaction.signed"});
  const std::vector<Case> cases = {
      {json::array(), "body"},
      {json{{"url", "https://a.example/"}}, "events"},
      {json{{"events", ok_events}}, "url"},
      {json{{"url", "https://a.example/"}, {"events", ok_events}, {"secret", "mine"}}, "unknown field"},
      {json{{"url", 7}, {"events", ok_events}}, "url"},
      {json{{"url", "ftp://a.example/"}, {"events", ok_events}}, "scheme"},
      {json{{"url", "HTTPS://a.example/"}, {"events", ok_events}}, "scheme"},
      {json{{"url", "a.example/hook"}, {"events", ok_events}}, "scheme"},
      {json{{"url", "https://user:pw@a.example/"}, {"events", ok_events}}, "userinfo"},
      {json{{"url", "https://a.example/#frag"}, {"events", ok_events}}, "fragment"},
      {json{{"url", "https://a.example/a b"}, {"events", ok_events}}, "spaces"},
      {json{{"url", "https://a.example:0/"}, {"events", ok_events}}, "port"},
      {json{{"url", "https://a.example:99999/"}, {"events", ok_events}}, "port"},
      {json{{"url", "https:///path"}, {"events", ok_events}}, "host"},
      {json{{"url", "https://a..example/"}, {"events", ok_events}}, "host"},
      {json{{"url", "https://[::1/"}, {"events", ok_events}}, "IPv6"},
      {json{{"url", "https://a.example/\xc3\xa9"}, {"events", ok_events}}, "non-ASCII"},
      {json{{"url", "https://a.example/" + std::string(kMaxWebhookUrlLength, 'a')}, {"events", ok_events}},
       "longer than"},
      {json{{"url", "https://a.example/"}, {"events", json::array()}}, "empty"},
      {json{{"url", "https://a.example/"}, {"events", "transaction.signed"}}, "events"},
      {json{{"url", "https://a.example/"}, {"events", json::array({"transaction.nope"})}}, "unknown event"},
      {json{{"url", "https://a.example/"}, {"events", json::array({"Transaction.Signed"})}}, "unknown event"},
      {json{{"url", "https://a.example/"}, {"events", json::array({1})}}, "strings"},
      {json{{"url", "https://a.example/"}, {"events", json::array({"transaction.signed", "transaction.signed"})}},
       "twice"},
      {json{{"url", "https://a.example/"}, {"events", json::array({"*", "transaction.signed"})}}, "only entry"},
  };
  for (const Case& c : cases) {
    StatusOr<CreatedWebhook> w = service_->Create(c.request, "key_admin", 1);
    ASSERT_FALSE(w.ok()) << c.request.dump();
    EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument) << c.request.dump();
    EXPECT_NE(w.status().message().find(c.needle), std::string::npos)
        << c.request.dump() << " -> " << w.status().ToString();
  }
  StatusOr<std::vector<Webhook>> all = service_->List("", 100);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  // The edges that are fine: IPv6 literal, explicit port, every event, a URL at the cap.
  Create("http://[::1]:8080/hook");
  Create("https://a.example/" + std::string(kMaxWebhookUrlLength - 19, 'a'));
  std::vector<std::string> every(WebhookEventNames().begin(), WebhookEventNames().end());
  Create("https://a.example:8443/all", every);
}

TEST_P(WebhooksTest, AtMostMaxWebhooks) {
  WebhookOptions o = TestOptions();
  o.max_webhooks = 2;
  service_ = NewService(Pepper(1), o);
  Create("https://a.example/1");
  Create("https://a.example/2");
  EXPECT_EQ(service_->Create(json{{"url", "https://a.example/3"}, {"events", {"*"}}}, "k", 1).status().code(),
            StatusCode::kResourceExhausted);
}

TEST_P(WebhooksTest, UrlsIntoTheGatewaysOwnNetworkAreRefusedByDefault) {
  WebhookOptions o = TestOptions();
  o.http.allow_private_addresses = false;
  service_ = NewService(Pepper(1), o);
  for (const char* url : {"http://127.0.0.1:8080/x", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/h",
                          "http://[::1]:9000/", "http://[fd00::1]/", "http://localhost:3000/", "http://a.localhost/",
                          "https://[::ffff:192.168.0.1]/"}) {
    StatusOr<CreatedWebhook> w = service_->Create(json{{"url", url}, {"events", {"*"}}}, "k", 1);
    ASSERT_FALSE(w.ok()) << url;
    EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_NE(w.status().message().find("not a public address"), std::string::npos) << w.status().ToString();
  }
  // Names are judged when delivering, on the addresses they resolve to.
  EXPECT_TRUE(service_->Create(json{{"url", "https://hooks.example.com/in"}, {"events", {"*"}}}, "k", 1).ok());
  EXPECT_TRUE(service_->Create(json{{"url", "http://8.8.8.8/in"}, {"events", {"*"}}}, "k", 1).ok());
}

TEST_P(WebhooksTest, EmitIsPartOfTheCallersTransaction) {
  CreatedWebhook signed_only = Create("https://a.example/s", json::array({"transaction.signed"}));
  CreatedWebhook all = Create("https://a.example/all");

  // The change rolls back: no delivery, no job.
  const Status rolled_back = db_->Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    RETURN_IF_ERROR(service_->Emit(c, "transaction.signed", TxRecord(), 5));
    return FailedPreconditionError("the transaction change failed");
  });
  EXPECT_EQ(rolled_back.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Attempts(signed_only.webhook.id).empty());
  EXPECT_TRUE(Attempts(all.webhook.id).empty());
  EXPECT_EQ(Depth(), 0);

  // Committed: one delivery per subscribed webhook, each with its job.
  VP_ASSERT_OK(Emit("transaction.signed"));
  VP_ASSERT_OK(Emit("transaction.created"));
  EXPECT_EQ(Attempts(signed_only.webhook.id).size(), 1u);
  const auto a = Attempts(all.webhook.id);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].event, "transaction.created");  // newest first
  EXPECT_EQ(a[1].event, "transaction.signed");
  EXPECT_EQ(a[0].attempt, 0);
  EXPECT_EQ(a[0].state, "pending");
  EXPECT_FALSE(a[0].status_code);
  EXPECT_EQ(Depth(), 3);

  // The caller's mistakes roll its transaction back.
  EXPECT_EQ(Emit("transaction.exploded").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Emit("transaction.signed", json{{"memo", std::string("\xff\xfe")}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Depth(), 3);
}

TEST_P(WebhooksTest, SignedDeliveryArrivesAndVerifies) {
  Receiver receiver([](const Received&, size_t) { return Response(204); });
  CreatedWebhook w = Create(receiver.url(), json::array({"transaction.signed"}));
  StartPool();
  VP_ASSERT_OK(Emit("transaction.signed"));
  ASSERT_EQ(FinalState(w.webhook.id), "delivered");
  const std::vector<Received> got = receiver.requests();
  ASSERT_EQ(got.size(), 1u);
  const Received& r = got[0];
  EXPECT_EQ(r.target, "/hooks/vp?tenant=7");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("vp-webhook-id"), w.webhook.id);
  EXPECT_EQ(r.headers.at("vp-event"), "transaction.signed");
  ASSERT_TRUE(r.headers.count("vp-signature"));
  EXPECT_TRUE(VerifySignature(r.headers.at("vp-signature"), w.secret, r.body)) << r.headers.at("vp-signature");
  // A receiver holding another secret, or a changed body, does not verify.
  EXPECT_FALSE(VerifySignature(r.headers.at("vp-signature"), w.secret + "x", r.body));
  EXPECT_FALSE(VerifySignature(r.headers.at("vp-signature"), w.secret, r.body + " "));
  // t is the attempt's time in seconds, near now.
  const int64_t t = std::stoll(r.headers.at("vp-signature").substr(2));
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(std::llabs(now_s - t), 60);

  const json body = json::parse(r.body);
  EXPECT_EQ(body["id"], r.headers.at("vp-delivery"));
  EXPECT_EQ(body["event"], "transaction.signed");
  EXPECT_EQ(body["createdAt"], 1'700'000'000'123);
  EXPECT_EQ(body["data"], TxRecord());
  EXPECT_EQ(body.size(), 4u);

  const auto a = Attempts(w.webhook.id);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].delivery_id, body["id"]);
  EXPECT_EQ(a[0].attempt, 1);
  EXPECT_EQ(a[0].status_code, 204);
  EXPECT_EQ(a[0].error, "");
  EXPECT_GE(a[0].duration_ms, 0);
  const json page = DeliveryPageJson(*service_->Deliveries(w.webhook.id, 10, ""));
  EXPECT_EQ(page["deliveries"][0]["statusCode"], 204);
  EXPECT_EQ(page["deliveries"][0]["state"], "delivered");
  EXPECT_TRUE(page["nextCursor"].is_null());
  EXPECT_EQ(Depth(), 0);
}

TEST_P(WebhooksTest, ServerErrorsAreRetriedUntilDelivered) {
  Receiver receiver([](const Received&, size_t i) { return i < 2 ? Response(500, "down\x01 for maintenance") : Response(200); });
  CreatedWebhook w = Create(receiver.url());
  StartPool();
  VP_ASSERT_OK(Emit("transaction.confirmed"));
  ASSERT_EQ(FinalState(w.webhook.id), "delivered");
  const auto a = Attempts(w.webhook.id);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].attempt, 3);
  EXPECT_EQ(a[0].status_code, 200);
  EXPECT_EQ(a[1].attempt, 2);
  EXPECT_EQ(a[1].status_code, 500);
  EXPECT_EQ(a[1].error, "HTTP 500: down? for maintenance");  // control characters never reach output
  EXPECT_EQ(a[2].attempt, 1);
  EXPECT_EQ(a[2].status_code, 500);
  for (const DeliveryAttempt& x : a) EXPECT_EQ(x.state, "delivered");
  // Every attempt carries the same delivery id and body (receivers dedupe on it).
  const std::vector<Received> got = receiver.requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].body, got[2].body);
  EXPECT_EQ(got[0].headers.at("vp-delivery"), got[2].headers.at("vp-delivery"));
  for (const Received& r : got) EXPECT_TRUE(VerifySignature(r.headers.at("vp-signature"), w.secret, r.body));

  // Pagination walks the same rows, newest first.
  StatusOr<DeliveryPage> p1 = service_->Deliveries(w.webhook.id, 2, "");
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->attempts.size(), 2u);
  ASSERT_FALSE(p1->next_cursor.empty());
  StatusOr<DeliveryPage> p2 = service_->Deliveries(w.webhook.id, 2, p1->next_cursor);
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  ASSERT_EQ(p2->attempts.size(), 1u);
  EXPECT_EQ(p2->attempts[0].attempt, 1);
  EXPECT_TRUE(p2->next_cursor.empty());
  for (const char* bad : {"x", "1", "1.", ".1", "01.1", "1.-1", "1.1.1", "99999999999999999999.1"}) {
    EXPECT_EQ(service_->Deliveries(w.webhook.id, 2, bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(service_->Deliveries(w.webhook.id, 0, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Deliveries("wh_000000000000000000000000", 10, "").status().code(), StatusCode::kNotFound);
}

TEST_P(WebhooksTest, GoneDisablesTheWebhook) {
  Receiver receiver([](const Received&, size_t) { return Response(410); });
  CreatedWebhook w = Create(receiver.url());
  StartPool();
  VP_ASSERT_OK(Emit("transaction.failed"));
  ASSERT_EQ(FinalState(w.webhook.id), "failed");
  const auto a = Attempts(w.webhook.id);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].status_code, 410);
  StatusOr<Webhook> after = service_->Get(w.webhook.id);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->enabled);
  EXPECT_EQ(after->disabled_reason, "receiver answered 410 Gone");
  EXPECT_EQ(WebhookJson(*after)["disabledReason"], "receiver answered 410 Gone");
  // No retry, and no new deliveries.
  VP_ASSERT_OK(Emit("transaction.failed"));
  EXPECT_EQ(Attempts(w.webhook.id).size(), 1u);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(receiver.count(), 1u);
}

TEST_P(WebhooksTest, ADeliveryToAPrivateAddressFailsAtOnceAndNothingIsSent) {
  // Created where private addresses were allowed, delivered by a gateway where they are not
  // (what a DNS name that now resolves into the gateway's network looks like to delivery).
  Receiver receiver([](const Received&, size_t) { return Response(200); });
  CreatedWebhook w = Create(receiver.url());
  WebhookOptions o = TestOptions();
  o.http.allow_private_addresses = false;
  service_ = NewService(Pepper(1), o);
  StartPool();
  VP_ASSERT_OK(Emit("transaction.signed"));
  ASSERT_EQ(FinalState(w.webhook.id), "failed");
  const auto a = Attempts(w.webhook.id);
  ASSERT_EQ(a.size(), 1u) << "a refused address is not retried";
  EXPECT_FALSE(a[0].status_code);
  EXPECT_NE(a[0].error.find("not public"), std::string::npos) << a[0].error;
  EXPECT_EQ(receiver.count(), 0u);
  EXPECT_TRUE(service_->Get(w.webhook.id)->enabled);  // the webhook itself stays as the admin left it
}

TEST_P(WebhooksTest, UnreachableReceiverIsRetriedThenDead) {
  WebhookOptions o = TestOptions();
  o.job.max_attempts = 3;
  service_ = NewService(Pepper(1), o);
  CreatedWebhook w = Create("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/secret-path?token=abc");
  StartPool();
  VP_ASSERT_OK(Emit("transaction.broadcast"));
  ASSERT_EQ(FinalState(w.webhook.id), "failed");
  const auto a = Attempts(w.webhook.id);
  ASSERT_EQ(a.size(), 3u);
  for (const DeliveryAttempt& x : a) {
    EXPECT_FALSE(x.status_code);
    EXPECT_NE(x.error.find("connect"), std::string::npos) << x.error;
    EXPECT_EQ(x.error.find("token=abc"), std::string::npos) << x.error;  // never the URL's path or query
    EXPECT_EQ(x.state, "failed");
  }
  // The job is a dead letter.
  ASSERT_TRUE(Eventually([&] {
    store::JobQueue jobs(*db_);
    StatusOr<std::vector<store::QueueCounts>> counts = jobs.Counts(0);
    if (!counts.ok()) return false;
    for (const auto& q : *counts) {
      if (q.queue == kWebhookQueue) return q.dead == 1 && q.queued == 0 && q.leased == 0;
    }
    return false;
  }));
  EXPECT_TRUE(service_->Get(w.webhook.id)->enabled);  // unreachable is not Gone
}

TEST_P(WebhooksTest, DisabledWebhookGetsNoNewDeliveriesAndPendingOnesStop) {
  Receiver receiver([](const Received&, size_t) { return Response(200); });
  CreatedWebhook w = Create(receiver.url());
  VP_ASSERT_OK(Emit("transaction.created"));  // queued while enabled
  StatusOr<Webhook> disabled = service_->Disable(w.webhook.id, "key_admin", 2'000);
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->enabled);
  EXPECT_EQ(disabled->disabled_reason, "disabled by key_admin");
  VP_ASSERT_OK(Emit("transaction.approved"));
  ASSERT_EQ(Attempts(w.webhook.id).size(), 1u);  // only the one from before

  StartPool();
  ASSERT_EQ(FinalState(w.webhook.id), "failed");
  const auto a = Attempts(w.webhook.id);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].attempt, 0);
  EXPECT_EQ(a[0].error, "webhook disabled");
  EXPECT_EQ(receiver.count(), 0u);

  // Enabled again: new events are delivered.
  ASSERT_TRUE(service_->Enable(w.webhook.id, 3'000).ok());
  VP_ASSERT_OK(Emit("transaction.approved"));
  ASSERT_TRUE(Eventually([&] { return receiver.count() == 1; }));
  EXPECT_EQ(service_->Disable("wh_000000000000000000000000", "k", 1).status().code(), StatusCode::kNotFound);
}

TEST_P(WebhooksTest, DeletedWebhookEndsItsQueuedDeliveries) {
  Receiver receiver([](const Received&, size_t) { return Response(200); });
  CreatedWebhook w = Create(receiver.url());
  VP_ASSERT_OK(Emit("transaction.created"));
  VP_ASSERT_OK(service_->Delete(w.webhook.id));
  StartPool();
  ASSERT_TRUE(Eventually([&] { return Depth() == 0; }));
  EXPECT_EQ(receiver.count(), 0u);
}

TEST_P(WebhooksTest, SecretNeverReachesOutputJobsOrTheStoreInPlaintext) {
  Receiver receiver([](const Received&, size_t i) { return i == 0 ? Response(503) : Response(200); });
  CreatedWebhook w = Create(receiver.url());
  const std::string hex = w.secret.substr(6);
  StatusOr<Bytes> raw = HexDecode(hex);
  ASSERT_TRUE(raw.ok());
  StartPool();
  VP_ASSERT_OK(Emit("transaction.signed"));
  ASSERT_EQ(FinalState(w.webhook.id), "delivered");
  pool_.reset();

  auto contains_secret = [&](std::string_view text) {
    return text.find(hex) != std::string_view::npos ||
           text.find(AsString(*raw)) != std::string_view::npos;
  };
  EXPECT_FALSE(contains_secret(WebhookJson(*service_->Get(w.webhook.id)).dump()));
  EXPECT_FALSE(contains_secret(DeliveryPageJson(*service_->Deliveries(w.webhook.id, 100, "")).dump()));
  // Jobs (payloads, results, errors) hold only the delivery id.
  VP_ASSERT_OK(db_->WithConn([&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(store::Rows r, c.Query("SELECT payload, COALESCE(result, ''), COALESCE(last_error, '') FROM jobs"));
    EXPECT_GE(r.size(), 1u);
    for (size_t i = 0; i < r.size(); ++i) {
      for (size_t col = 0; col < 3; ++col) EXPECT_FALSE(contains_secret(r.Text(i, col)));
    }
    ASSIGN_OR_RETURN(store::Rows s, c.Query("SELECT secret_sealed, url, events FROM webhooks"));
    EXPECT_EQ(s.size(), 1u);
    EXPECT_FALSE(contains_secret(AsString(s.Blob(0, 0))));
    EXPECT_EQ(s.Blob(0, 0).size(), 12u + w.secret.size() + 16u);  // nonce || ciphertext || tag
    return OkStatus();
  }));
  if (GetParam() == Dialect::kSqlite) {
    // Every byte SQLite wrote: the database, its WAL and shared memory.
    VP_ASSERT_OK(db_->Flush());
    const std::filesystem::path dir = std::filesystem::path(tdb_->url()).parent_path();
    size_t scanned = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string bytes = vp::testing::ReadFile(entry.path());
      scanned += bytes.size();
      EXPECT_FALSE(contains_secret(bytes)) << entry.path();
    }
    EXPECT_GT(scanned, 0u);
  }
}

TEST_P(WebhooksTest, ASealedSecretOpensOnlyUnderItsKeyAndItsId) {
  Receiver receiver([](const Received&, size_t) { return Response(200); });
  CreatedWebhook w = Create(receiver.url());
  VP_ASSERT_OK(Emit("transaction.signed"));
  // Another pepper (a gateway started on another data directory): nothing is sent.
  service_ = NewService(Pepper(2), TestOptions());
  StartPool();
  ASSERT_EQ(FinalState(w.webhook.id), "failed");
  const auto a = Attempts(w.webhook.id);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0].error.find("does not open"), std::string::npos) << a[0].error;
  EXPECT_EQ(receiver.count(), 0u);
  pool_.reset();

  // The right key, but the sealed secret moved to another webhook's row: refused too.
  service_ = NewService(Pepper(1), TestOptions());
  CreatedWebhook other = Create(receiver.url());
  VP_ASSERT_OK(db_->WithConn([&](Conn& c) {
    return c.Exec("UPDATE webhooks SET secret_sealed = (SELECT secret_sealed FROM webhooks WHERE id = $1) WHERE id = $2",
                  {store::Value(w.webhook.id), store::Value(other.webhook.id)});
  }));
  VP_ASSERT_OK(service_->Delete(w.webhook.id));
  VP_ASSERT_OK(Emit("transaction.signed"));
  StartPool();
  ASSERT_EQ(FinalState(other.webhook.id), "failed");
  EXPECT_EQ(receiver.count(), 0u);
  EXPECT_EQ(WebhookService::DeriveSecretKey(Bytes(31, 1)).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(WebhooksTest, HandlerRefusesMalformedJobs) {
  for (const char* payload : {"", "{}", "[]", "{\"deliveryId\":7}", "{\"deliveryId\":\"whd_zz\"}", "not json"}) {
    store::Job job;
    job.payload = payload;
    job.attempts = 1;
    job.max_attempts = 8;
    store::JobContext ctx(job);
    const store::JobResult r = service_->Deliver(ctx);
    EXPECT_EQ(r.kind, store::JobResult::Kind::kPermanent) << payload;
  }
  store::Job job;
  job.payload = R"({"deliveryId":"whd_000000000000000000000000"})";
  job.attempts = 1;
  store::JobContext ctx(job);
  EXPECT_EQ(service_->Deliver(ctx).kind, store::JobResult::Kind::kPermanent);
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhooksTest, ::testing::ValuesIn(store::testing::AllDialects()),
                         store::testing::DialectParamName<::testing::TestParamInfo<Dialect>>);

// ---------------------------------------------------------------------------------------
// The transport's limits, as deliveries use it.

TEST(WebhookSignature, MatchesAnIndependentHmac) {
  const std::string body = R"({"id":"whd_1","event":"transaction.signed"})";
  // Expected value from the OpenSSL command line:
  //   printf '%s' '1700000000.{"id":"whd_1","event":"transaction.signed"}' |
  //     openssl dgst -sha256 -hmac whsec_test
  EXPECT_EQ(WebhookSignature("whsec_test", 1'700'000'000, body),
            "t=1700000000,v1=a33f4872104308da84a1c2ff80bac2774db3dd77d07ea3e7897adc72fa2940b6");
  EXPECT_TRUE(VerifySignature(WebhookSignature("whsec_test", 5, body), "whsec_test", body));
}

TEST(HttpPost, PublicAddressesAreTheOnlyOnesAWebhookMayReach) {
  // The ranges of RFC 6890 and friends that must never be reached from a webhook URL.
  for (const char* ip : {"0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1", "127.255.0.9", "169.254.169.254",
                         "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.168.1.1", "198.18.0.1",
                         "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.1.1.1", "240.0.0.1", "255.255.255.255",
                         "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "64:ff9b::a00:1",
                         "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1"}) {
    EXPECT_FALSE(IsPublicAddress(ip)) << ip;
  }
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "169.255.0.1", "192.169.0.1",
                         "::ffff:8.8.8.8", "64:ff9b::808:808", "2606:4700:4700::1111", "2a00:1450::1"}) {
    EXPECT_TRUE(IsPublicAddress(ip)) << ip;
  }
  for (const char* not_ip : {"", "localhost", "example.com", "1.2.3", "::g", "1.2.3.4.5"}) {
    EXPECT_FALSE(IsPublicAddress(not_ip)) << not_ip;
  }
}

TEST(HttpPost, WithoutPrivateAddressesLoopbackIsNeverContacted) {
  Receiver receiver([](const Received&, size_t) { return Response(200); });
  HttpOptions o = WebhookOptions().http;
  ASSERT_FALSE(o.allow_private_addresses) << "webhooks must default to public addresses only";
  StatusOr<HttpResponse> r = HttpPost(receiver.url(), {}, "{}", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("127.0.0.1"), std::string::npos) << r.status().ToString();
  // A name that resolves to loopback is refused on the address it resolves to.
  const std::string by_name = "http://localhost:" + receiver.url().substr(receiver.url().rfind(':') + 1);
  r = HttpPost(by_name, {}, "{}", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
  EXPECT_TRUE(receiver.requests().empty()) << "a refused address was contacted";
}

TEST(HttpPost, AnyStatusIsAnAnswerAndRedirectsAreNotFollowed) {
  Receiver receiver([](const Received& r, size_t) {
    return r.target == "/moved" ? Response(301, "", "Location: http://127.0.0.1:1/\r\n") : Response(418, "teapot");
  });
  StatusOr<HttpResponse> r = HttpPost(receiver.url("/moved"), {}, "{}", LocalHttp());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 301u);
  r = HttpPost(receiver.url("/x"), {{"X-Custom", "v"}}, "{}", LocalHttp());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 418u);
  EXPECT_EQ(r->body, "teapot");
  EXPECT_FALSE(r->body_truncated);
  const auto got = receiver.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].headers.at("x-custom"), "v");
  EXPECT_EQ(got[1].headers.at("connection"), "close");
  EXPECT_EQ(got[1].headers.at("user-agent"), "vaultproof");
}

TEST(HttpPost, BodyIsCutAtTheCapAndTheStatusStillCounts) {
  const std::string big(64 * 1024, 'z');
  Receiver receiver([&](const Received&, size_t) { return Response(200, big); });
  StatusOr<HttpResponse> r = HttpPost(receiver.url(), {}, "{}", LocalHttp());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200u);
  EXPECT_TRUE(r->body_truncated);
  EXPECT_LE(r->body.size(), 4096u);
  // Without truncation the cap is an error.
  HttpOptions strict = LocalHttp();
  strict.truncate_body = false;
  EXPECT_EQ(HttpPost(receiver.url(), {}, "{}", strict).status().code(), StatusCode::kResourceExhausted);
}

TEST(HttpPost, TheWholeCallHasADeadline) {
  Receiver receiver([](const Received&, size_t) {
    std::this_thread::sleep_for(milliseconds(1'500));
    return Response(200);
  });
  HttpOptions o = LocalHttp();
  o.total_timeout = milliseconds(300);
  const auto t0 = std::chrono::steady_clock::now();
  StatusOr<HttpResponse> r = HttpPost(receiver.url(), {}, "{}", o);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("timed out (total limit 300 ms)"), std::string::npos) << r.status().ToString();
  EXPECT_LT(took, milliseconds(1'200));
}

TEST(HttpPost, RefusesHeaderInjectionAndBadOptions) {
  const HttpOptions o = LocalHttp();
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/";
  EXPECT_EQ(HttpPost(url, {{"X-A", "v\r\nX-Injected: 1"}}, "", o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpPost(url, {{"X A", "v"}}, "", o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpPost(url, {{"", "v"}}, "", o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpPost(url, {{"Host", "evil.example"}}, "", o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpPost(url, {{"Content-Length", "0"}}, "", o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpPost(url, {{"X-A", std::string(2000, 'a')}}, "", o).status().code(), StatusCode::kInvalidArgument);
  HttpOptions zero = o;
  zero.max_response_bytes = 0;
  EXPECT_EQ(HttpPost(url, {}, "", zero).status().code(), StatusCode::kInvalidArgument);
  HttpOptions negative = o;
  negative.total_timeout = milliseconds(-1);
  EXPECT_EQ(HttpPost(url, {}, "", negative).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpPost("http://user@127.0.0.1/", {}, "", o).status().code(), StatusCode::kInvalidArgument);
  const Status refused = HttpPost(url, {}, "", o).status();
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(refused.message().starts_with("POST: 127.0.0.1:")) << refused.ToString();
}

}  // namespace
}  // namespace vp::wallet
